"""Who a credential belongs to, remembered for a few seconds per process.

Every API call authenticates, and reading the token and its user costs two
queries and an ORM load: on the labelling hot path that was a fifth of the
server's CPU. A hit here costs a dict lookup and `Session.merge(load=False)`,
which attaches a copy to the request's session without a query (so routes
can still change and save the user).

Staleness is bounded: a write to a user or token in this process (any
session's flush) empties the cache at once; other processes (more uvicorn
workers) see a revoked token or a deactivated account within TTL_S.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import make_transient_to_detached

TTL_S = 5.0
MAX_ENTRIES = 10_000

_entries: dict[tuple[str, object], tuple[float, object]] = {}
_lock = threading.Lock()
_generation = [0]


def get(key: tuple[str, object]):
    """The cached detached user for ('token', sha256) or ('sid', sha256), or None."""
    hit = _entries.get(key)
    if hit is None or hit[0] < time.monotonic():
        return None
    return hit[1]


def generation() -> int:
    """Bumped by every clear: a lookup that started before a write must not
    store what it read."""
    return _generation[0]


def put(key: tuple[str, object], user, gen: int) -> None:
    from app.users.models import User

    # A detached copy: the request's own instance stays with its session.
    copy = User(**{c: getattr(user, c) for c in User.model_fields})
    make_transient_to_detached(copy)
    with _lock:
        if gen != _generation[0]:
            return
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[key] = (time.monotonic() + TTL_S, copy)


def clear() -> None:
    with _lock:
        _generation[0] += 1
        _entries.clear()


def attach(session: OrmSession, cached):
    """The cached user as a persistent instance of this session (no query)."""
    return session.merge(cached, load=False)


@event.listens_for(OrmSession, "after_flush")
def _forget_on_write(session, _ctx) -> None:
    from app.users.models import ApiToken, LoginSession, User

    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, (User, ApiToken)):
            clear()
            return
    # A new browser session changes no one's standing; an ended one does.
    if any(isinstance(obj, LoginSession) for obj in (*session.dirty, *session.deleted)):
        clear()
