"""When the database cannot serve a request now: 503 with Retry-After, never
500 (issue 10). Three causes: no database slot came free in time (the crowd
is larger than the server), the pool gave no connection in time, or the
connection broke under the request (PostgreSQL restarted, a backend was
terminated, a failover). Each leaves nothing half-done: the transaction was
never committed, and a vote sent again is recognised as a retry."""
from __future__ import annotations

import logging
import random
import sqlite3

from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy import exc as sa_exc

log = logging.getLogger("fervlab.db")

# Seconds a client is told to wait, drawn per answer: a crowd that obeys
# Retry-After comes back spread out instead of all in the same second.
RETRY_AFTER_S = (1, 3)


class DatabaseBusy(Exception):
    """Raised when a request got no database slot within `db_wait_s`."""


def is_transient(exc: BaseException) -> bool:
    """A database error that a retry in a moment can cure: a broken or
    refused connection, a pool or lock timeout, a deadlock or serialisation
    failure that PostgreSQL rolled back. Errors in the statement or the data
    (integrity, syntax, range) are not."""
    if isinstance(exc, (DatabaseBusy, sa_exc.TimeoutError)):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.OperationalError):
        # The file lock stayed taken past the busy timeout.
        return "locked" in str(orig) or "busy" in str(orig)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg ships with fervlab
        return False
    # Connection failures, admin shutdown, deadlock / serialisation rollbacks.
    return isinstance(orig, psycopg.OperationalError)


def unavailable(request: Request) -> Response:
    from app.core.error_pages import error_response  # a page in the site's layout for browsers

    wait = random.randint(*RETRY_AFTER_S)
    return error_response(request, 503, f"The server is busy; please try again in {wait} s.",
                          headers={"Retry-After": str(wait)})


def register(app: FastAPI) -> None:
    """The handlers; other database errors fall through to the app's 500."""

    @app.exception_handler(DatabaseBusy)
    async def _busy(request: Request, __: DatabaseBusy) -> Response:
        return unavailable(request)

    @app.exception_handler(sa_exc.TimeoutError)
    @app.exception_handler(sa_exc.DBAPIError)
    async def _database(request: Request, exc: Exception) -> Response:
        if not is_transient(exc):
            raise exc
        log.warning("database unavailable for %s %s: %s", request.method, request.url.path,
                    str(exc).splitlines()[0][:200])
        return unavailable(request)
