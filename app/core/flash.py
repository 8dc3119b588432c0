"""One-shot messages across a redirect (post/redirect/get): the POST stores
them in a short-lived signed cookie, the next full page shows and drops it, so
a reload re-sends nothing and shows nothing twice."""
from __future__ import annotations

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.core.config import get_settings

COOKIE = "fervlab_flash"
MAX_AGE_S = 300
# A browser drops a cookie over ~4 KB, and the message with it: a long list
# of upload errors is cut instead, its last line saying how many more there were.
_MAX_LINES = 8
_MAX_LINE = 240


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="fervlab-flash")


def _lines(items: list[str]) -> list[str]:
    out = [m[:_MAX_LINE] for m in items[:_MAX_LINES]]
    if len(items) > _MAX_LINES:
        out.append(f"… and {len(items) - _MAX_LINES} more.")
    return out


def set_flash(response: Response, *, path: str, messages: list[str] | None = None,
              errors: list[str] | None = None, **values) -> None:
    data = {"messages": _lines(messages or []), "errors": _lines(errors or []), **values}
    response.set_cookie(COOKIE, _serializer().dumps(data), max_age=MAX_AGE_S, path=path, httponly=True,
                        samesite="lax", secure=get_settings().env == "prod")


def read_flash(request: Request) -> dict:
    """The flash of this request ({} when none or when it is forged or stale)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE_S)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def drop_flash(response: Response, *, path: str) -> None:
    response.delete_cookie(COOKIE, path=path)
