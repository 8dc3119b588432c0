"""One answer for every error: an HTML page in the site's layout for a person
in a browser, the JSON body `{"detail": "..."}` for everyone else."""
from __future__ import annotations

import html
import logging
from http import HTTPStatus

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.core.templating import is_htmx, render

log = logging.getLogger("fervlab")

# What the page's heading says (the detail says the rest).
_TITLES = {401: "Please log in", 403: "Not allowed", 404: "Not found", 422: "That did not work",
           500: "Something went wrong", 503: "Not available right now"}


def wants_html(request: Request) -> bool:
    """A page request: not the API, not an htmx fragment (htmx swaps only 2xx
    answers and reads the JSON detail), and the client asks for HTML."""
    if request.url.path.startswith("/api/") or is_htmx(request):
        return False
    return "text/html" in request.headers.get("accept", "")


def error_response(request: Request, status_code: int, detail: str,
                   headers: dict[str, str] | None = None) -> Response:
    if not wants_html(request):
        return JSONResponse({"detail": detail}, status_code=status_code, headers=headers)
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Error"
    title = _TITLES.get(status_code, phrase)
    try:
        resp = render(request, "error.html", {"status_code": status_code, "title": title, "detail": detail},
                      status_code=status_code)
    except Exception:  # the error page must not fail in turn (a broken template, a lost database)
        log.exception("the error page failed to render")
        resp = HTMLResponse(f"<!doctype html><title>{title}</title><h1>{title}</h1><p>{html.escape(detail)}</p>"
                            '<p><a href="/">Back to your start page</a></p>', status_code=status_code)
    for key, value in (headers or {}).items():
        resp.headers[key] = value
    return resp
