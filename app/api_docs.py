"""The API's documentation pages, /docs (Swagger UI) and /redoc, served from
the vendored copies in static/docs/ (see static/VENDORED.md): no CDN, and no
inline script, so they work offline and under a `script-src 'self'` policy."""
from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger_ui(request: Request):
    return render(request, "docs/swagger.html", {"openapi_url": request.app.openapi_url,
                                                 "title": request.app.title})


@router.get("/redoc")
def redoc(request: Request):
    return render(request, "docs/redoc.html", {"openapi_url": request.app.openapi_url,
                                               "title": request.app.title})
