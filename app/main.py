"""create_app(): routers, static files, templates, error handlers."""
from __future__ import annotations

import logging
from importlib import import_module
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core import db_errors
from app.core.config import get_settings
from app.core.deps import LoginRequired
from app.core.error_pages import error_response
from app.core.errors import DomainError, document_errors, validation_text
from app.core.headers import SecurityHeadersMiddleware
from app.core.limits import BodyLimitMiddleware

log = logging.getLogger("fervlab")
ROOT = Path(__file__).resolve().parents[1]

# Each domain's JSON API (routes) and HTML pages (views); a module that a
# domain does not have is simply absent from this list.
ROUTER_MODULES = [
    "app.health",
    "app.api_docs",
    "app.users.routes",
    "app.users.views",
    "app.users.admin_views",
    "app.taxonomy.routes",
    "app.labeling.views",
    "app.labeling.routes",
    "app.labeling.admin_views",
    "app.clips.routes",
    "app.videos.routes",
    "app.videos.views",
    "app.benchmarks.routes",
    "app.benchmarks.views",
    "app.consensus.routes",
    "app.consensus.views",
    "app.review.routes",
    "app.review.views",
    "app.jobs.routes",
    "app.jobs.views",
    "app.datasets.routes",
    "app.datasets.views",
]


def _validation_message(exc: RequestValidationError) -> str:
    return "Invalid request: " + validation_text(exc.errors())


def create_app() -> FastAPI:
    settings = get_settings()
    settings.media_root.mkdir(parents=True, exist_ok=True)
    app = FastAPI(title="fervlab", version="0.1.0", openapi_url="/openapi.json",
                  docs_url=None, redoc_url=None)  # app/api_docs.py serves them from vendored files
    app.mount("/static", StaticFiles(directory=str(ROOT / "static")), name="static")
    # Pages link /static/favicon.svg; a browser shown an htmx fragment or a
    # file still asks for /favicon.ico, and a 404 there is a console error.
    icon = ROOT / "static" / "favicon.svg"
    app.add_api_route("/favicon.ico", lambda: FileResponse(icon, media_type="image/svg+xml"), include_in_schema=False)
    for name in ROUTER_MODULES:
        app.include_router(import_module(name).router)
    # Outermost last: every answer, a 413 included, gets the security headers.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    document_errors(app)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return error_response(request, exc.status_code, exc.detail, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return error_response(request, 422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return error_response(request, exc.status_code, detail, headers=exc.headers)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request") == "true":
            # htmx follows HX-Redirect with a full page load.
            return JSONResponse({"detail": "Log in again."}, status_code=401,
                                headers={"HX-Redirect": f"/login?next={quote(target)}"})
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    # Busy or broken database: 503 with Retry-After (issue 10), never 500.
    db_errors.register(app)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", exc_info=exc)
        return error_response(request, 500, "Internal error; it has been logged.")

    return app
