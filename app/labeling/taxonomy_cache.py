"""The expressions and their descriptor words, cached per process.

Every label is checked against them; reading them on every request would
cost a query per label for data that changes perhaps once a year. Edits show
up within TTL_S seconds (or at once after `clear()`)."""
from __future__ import annotations

import threading
import time

from sqlmodel import Session

from app.core.errors import Invalid
from app.taxonomy import service as taxonomy

TTL_S = 60.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, list[tuple[str, tuple[str, ...]]]]] = {}


def expressions(session: Session) -> list[tuple[str, tuple[str, ...]]]:
    """[(name, descriptors)] in taxonomy order."""
    key = str(session.get_bind().url)
    hit = _cache.get(key)
    if hit is not None and time.monotonic() - hit[0] < TTL_S:
        return hit[1]
    rows = [(e.name, tuple(e.descriptors or ())) for e in taxonomy.expressions(session)]
    with _lock:
        _cache[key] = (time.monotonic(), rows)
    return rows


def canonical_names(session: Session) -> dict[str, str]:
    """lower-case name → the taxonomy's spelling."""
    return {name.lower(): name for name, _ in expressions(session)}


def check(session: Session, expression: str, descriptor: str | None = None) -> tuple[str, str | None]:
    """The taxonomy's spelling of (expression, descriptor), or a clear 422
    (the rules and words of taxonomy.service.check_expression; case-blind)."""
    rows = expressions(session)
    for name, words in rows:
        if name.lower() == expression.strip().lower():
            if descriptor is None:
                return name, None
            for word in words:
                if word.lower() == descriptor.strip().lower():
                    return name, word
            raise Invalid(f"'{descriptor}' is not a descriptor of {name}; choose one of {', '.join(words)}.")
    raise Invalid(f"'{expression}' is not an expression; choose one of {', '.join(n for n, _ in rows)}.")


def clear() -> None:
    with _lock:
        _cache.clear()
