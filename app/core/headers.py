"""Response headers every answer carries: security headers, and a 405's
`Allow` that lists every method of its path.

Pages load only the app's own scripts and styles (/static: htmx,
labelling.js, app.css); the templates use inline `style=` attributes and
htmx inserts a small <style> element, hence style-src 'unsafe-inline'. No
inline script runs anywhere but in FastAPI's /docs page, which bootstraps
Swagger UI with one, so only that page may run inline scripts.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.routing import flat_routes

_CSP = ("default-src 'self'; script-src 'self'{inline}; style-src 'self' 'unsafe-inline';{worker} "
        "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
PAGE_CSP = _CSP.format(inline="", worker="")
# ReDoc searches in a worker it starts from a blob: URL.
DOCS_CSP = _CSP.format(inline=" 'unsafe-inline'", worker=" worker-src 'self' blob:;")
DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")

_COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def allowed_methods(scope: Scope) -> list[str]:
    """Every method some route of the app answers on this path (Starlette's
    own 405 names only the first route that matched the path)."""
    methods: set[str] = set()
    for route in flat_routes(scope["app"]):
        own = getattr(route, "methods", None)
        if own and route.matches({**scope, "method": next(iter(own))})[0] == Match.FULL:
            methods |= own
    return sorted(methods)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"] in DOCS_PATHS else PAGE_CSP

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = MutableHeaders(scope=msg)
                for name, value in _COMMON.items():
                    headers.setdefault(name, value)
                headers.setdefault("Content-Security-Policy", csp)
                if msg["status"] == 405:
                    headers["Allow"] = ", ".join(allowed_methods(scope))
            await send(msg)

        await self.app(scope, receive, send_with_headers)
