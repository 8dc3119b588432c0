"""Jinja2 templates, with rendering of a single named block so a page and its
htmx fragment come from one template and cannot drift apart."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.core import display
from app.core.security import csrf_token_for

ROOT = Path(__file__).resolve().parents[2]
templates = Jinja2Templates(directory=str(ROOT / "templates"))
# Every `{{ value }}` of an enum prints its value, never `VideoStatus.queued`;
# `|words` is for text people read ("needs votes"), `|raw` for CSS classes.
templates.env.finalize = display.raw
templates.env.filters.update(words=display.words, raw=display.raw, job_result=display.job_result)


def _ctx(request: Request, ctx: dict[str, Any]) -> dict[str, Any]:
    session = getattr(request.state, "session_data", None)
    base = {"request": request, "user": getattr(request.state, "user", None), "csrf_token": csrf_token_for(session)}
    base.update(ctx)
    return base


def render(request: Request, name: str, ctx: dict[str, Any] | None = None, *, status_code: int = 200,
           block: str | None = None) -> HTMLResponse:
    """Render a page, or only `block` of it (for htmx requests)."""
    full = _ctx(request, ctx or {})
    if block is None:
        return templates.TemplateResponse(request, name, full, status_code=status_code)
    tpl = templates.env.get_template(name)
    html = "".join(tpl.blocks[block](tpl.new_context(full)))
    return HTMLResponse(html, status_code=status_code)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render_live(request: Request, name: str, ctx: dict[str, Any], *, block: str, busy: bool) -> HTMLResponse:
    """A page whose `block` polls itself (htmx, every ~2 s) while `busy`.
    A poll gets only the block; the poll that finds the work done reloads the
    whole page (HX-Refresh), so everything the work changed is fresh and the
    polling stops."""
    if not is_htmx(request):
        return render(request, name, ctx)
    resp = render(request, name, ctx, block=block)
    if not busy:
        resp.headers["HX-Refresh"] = "true"
    return resp
