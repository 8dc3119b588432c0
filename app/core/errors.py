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
