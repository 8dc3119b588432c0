"""Typed domain errors. Services raise these; one handler in main.py maps them
to HTTP codes with `{"detail": "<clear message>"}`."""
from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    headers: dict[str, str] | None = None

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class Invalid(DomainError):
    status_code = 422


class Unauthorized(DomainError):
    status_code = 401


class Forbidden(DomainError):
    status_code = 403


class TooLarge(DomainError):
    status_code = 413


class Unavailable(DomainError):
    status_code = 503

    def __init__(self, detail: str, *, retry_after: int | None = None):
        super().__init__(detail)
        if retry_after is not None:
            self.headers = {"Retry-After": str(int(retry_after))}


class TooManyRequests(DomainError):
    """429; `headers` carries Retry-After (whole seconds) to the response."""
    status_code = 429

    def __init__(self, detail: str, *, retry_after_s: int):
        super().__init__(detail)
        self.retry_after_s = max(1, int(retry_after_s))
        self.headers = {"Retry-After": str(self.retry_after_s)}


def validation_text(errors) -> str:
    """Pydantic's errors as one sentence: `field: message; ...` (where a
    request part such as `body` leads the location, it is dropped)."""
    parts = []
    for err in errors:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def form_message(exc: Exception) -> str:
    """What a page shows for a refused form: a domain error's own words, or
    the fields that failed validation."""
    from pydantic import ValidationError

    if isinstance(exc, DomainError):
        return exc.detail
    if isinstance(exc, ValidationError):
        return validation_text(exc.errors())
    return str(exc)


# -- the errors in the OpenAPI schema ---------------------------------------------------
#
# Every error answer is `{"detail": "<message>"}` (main.py's handlers), a 422
# included, so the schema says so instead of FastAPI's default list of
# validation errors; and each operation lists the codes it can answer.

_ERROR_SCHEMA = {"title": "Error", "type": "object", "required": ["detail"],
                 "properties": {"detail": {"type": "string", "title": "Detail"}}}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}

_WHY = {
    400: "The body could not be parsed (a broken multipart form).",
    401: "Not authenticated: no, a wrong or a revoked token or session.",
    403: "Authenticated, but this needs another role, a CSRF token, or the account is paused.",
    404: "Nothing with that id (or not visible to you).",
    409: "The request conflicts with the current state.",
    413: "The body is larger than its limit (FERVLAB_MAX_BODY_KB, uploads FERVLAB_MAX_UPLOAD_MB).",
    422: "Invalid input: the message names each field and what is wrong.",
    503: "A database connection or the task broker is not available now; retry after Retry-After seconds.",
}
_WRITES = {"post", "put", "patch", "delete"}


def _needs_login(dependant) -> bool:
    from app.core.deps import get_current_user, get_page_user

    stack = [dependant]
    while stack:
        d = stack.pop()
        if d.call in (get_current_user, get_page_user):
            return True
        stack.extend(d.dependencies)
    return False


def _codes(route, method: str) -> list[int]:
    from app.core.routing import api_route

    original = api_route(route)
    codes = {422, 503}
    if original is not None and _needs_login(original.dependant):
        codes |= {401, 403}
    names = {p.name for p in original.dependant.query_params} if original is not None else set()
    if "{" in route.path or any(n.endswith("_id") or n in ("a", "b") for n in names):
        codes.add(404)
    if method in _WRITES:
        # Writes name rows in their bodies too (404), and a wrong password
        # is a 401 before anyone is logged in.
        codes |= {400, 401, 404, 409, 413}
    return sorted(codes)


def document_errors(app) -> None:
    """Make `app.openapi()` describe the error answers as they are."""
    from fastapi.openapi.utils import get_openapi

    from app.core.routing import flat_routes

    def openapi() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        schemas["Error"] = _ERROR_SCHEMA
        ops = {}
        for route in flat_routes(app):
            for m in route.methods or ():
                ops[(route.path, m.lower())] = route
        for path, item in spec.get("paths", {}).items():
            for method, op in item.items():
                route = ops.get((path, method))
                responses = op.setdefault("responses", {})
                for code in _codes(route, method) if route is not None else (422, 503):
                    entry = responses.setdefault(str(code), {"description": _WHY[code]})
                    entry["content"] = {"application/json": {"schema": _ERROR_REF}}
                    if code == 422:
                        entry["description"] = _WHY[422]
        app.openapi_schema = spec
        return spec

    app.openapi = openapi
