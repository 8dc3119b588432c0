"""Engine and sessions. SQLite gets WAL and a busy timeout so the web process
and the embedded worker can share one file.

A web request never holds a pooled connection while it waits for anything
but its own work (issue 10: 40 requests held the 40 connections while the 40
threads that would have ended them waited for a connection). Requests take a
database slot on the event loop first, at most `db_connections` at a time;
the pool has that many connections, the thread pool that many plus headroom,
and a slot not free within `db_wait_s` answers 503 with Retry-After
(app/core/db_errors.py)."""
from __future__ import annotations

import asyncio
import logging
import select
import time
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache

import anyio
from fastapi import Request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlmodel import Session, create_engine

from app.core.config import get_settings
from app.core.db_errors import DatabaseBusy

log = logging.getLogger("fervlab.db")
# Connections beyond `db_connections` for what takes no slot (health checks,
# a CLI verb in the same process); threads beyond it for work that holds no
# connection (streaming files, rendering pages).
POOL_EXTRA = 5
THREAD_HEADROOM = 8


def utcnow() -> datetime:
    """Aware UTC; SQLModel's UTCDateTime stores it and reads it back in UTC."""
    return datetime.now(timezone.utc)


def make_engine(url: str, *, immediate: bool = True) -> Engine:
    """On SQLite every transaction starts with BEGIN IMMEDIATE by default: it
    takes the write lock up front (waiting up to the busy timeout), so a
    read-then-write transaction can never fail on a stale snapshot when
    another connection wrote in between. Writes are serialised either way."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        pool = {} if path in ("", ":memory:") else _pool_limits()
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pool)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        # pysqlite's own transaction handling defers BEGIN; emit it ourselves.
        @event.listens_for(engine, "connect")
        def _no_pysqlite_tx(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # pragma: no cover - trivial
            mode = conn.info.pop("sqlite_begin", "BEGIN IMMEDIATE" if immediate else "BEGIN")
            conn.exec_driver_sql(mode)

        return engine
    engine = create_engine(url, **_pool_limits())
    _ping_after_idle(engine)
    return engine


def _pool_limits() -> dict:
    settings = get_settings()
    return {"pool_size": settings.db_connections, "max_overflow": POOL_EXTRA, "pool_timeout": settings.db_wait_s}


# A pooled connection that sat idle this long is pinged before use (a
# PostgreSQL restart meanwhile would otherwise fail the next request). Busy
# connections are not: pool_pre_ping's round trip on every checkout cost the
# labelling API a tenth of its throughput. Every checkout does look, without
# a round trip, whether the server has hung up (below).
PING_AFTER_IDLE_S = 5.0


def _hung_up(dbapi_conn) -> bool:
    """Whether PostgreSQL has spoken on an idle connection: it never does but
    to say goodbye (a terminated backend, a restart: an error message, then
    EOF). One poll(2) of the socket, no round trip."""
    try:
        poller = select.poll()
        poller.register(dbapi_conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except Exception:  # noqa: BLE001 - a closed connection has no socket
        return True


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):  # pragma: no cover - trivial
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):
        since = record.info.get("idle_since")
        if since is None:  # just connected (the pool empties info on reconnect)
            return
        if _hung_up(dbapi_conn):
            # The pool drops this connection and checks out a fresh one.
            raise DisconnectionError("the server closed this pooled connection")
        if time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool drops this connection and checks out a fresh one.
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


@lru_cache
def get_engine() -> Engine:
    import app.models  # noqa: F401  - every table registered before the first flush

    return make_engine(get_settings().database_url)


class _Gate:
    """Per event loop: the database slots, and a thread limiter of its own for
    closing sessions (a close returns a connection; it must never queue
    behind requests that wait for one, as FastAPI does for `__exit__`)."""

    def __init__(self) -> None:
        n = get_settings().db_connections
        self.slots = asyncio.Semaphore(n)
        self.closers = anyio.CapacityLimiter(n)
        anyio.to_thread.current_default_thread_limiter().total_tokens = n + THREAD_HEADROOM


_gates: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _gate() -> _Gate:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = _Gate()
    return gate


async def _take_slot(gate: _Gate) -> None:
    if not gate.slots.locked():
        await gate.slots.acquire()  # free: no wait, no timer
        return
    try:
        await asyncio.wait_for(gate.slots.acquire(), get_settings().db_wait_s)
    except TimeoutError:
        raise DatabaseBusy() from None


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session, inside one of the process's database slots.
    Async so that FastAPI does not hop to a worker thread to open it and
    again to close it (a sync generator dependency costs two hops). Closing
    is a rollback and a return to the pool: local and instant on SQLite, so
    it runs here; a network round trip on PostgreSQL, so there it runs off
    the loop, and only if the session still holds a connection (one that
    committed, or was answered from the auth cache, does not).

    The slot is given back as soon as the handler has returned holding no
    connection (before a file streams to a slow client), else once the
    session is closed after the answer is sent."""
    gate = _gate()
    await _take_slot(gate)
    held = [True]

    def let_go() -> None:
        if held[0]:
            held[0] = False
            gate.slots.release()

    try:
        session = Session(get_engine(), expire_on_commit=False)
        # FastAPI's stack for the handler's own scope: it ends when the
        # handler has returned, before the response is sent.
        handler_scope = request.scope.get("fastapi_function_astack")
        if handler_scope is not None:
            handler_scope.callback(lambda: None if session.info.get(_CONNECTED) else let_go())
        try:
            yield session
        finally:
            await _close(session, gate)
    finally:
        let_go()


async def _close(session: Session, gate: _Gate) -> None:
    try:
        if session.info.get(_CONNECTED) and session.get_bind().dialect.name != "sqlite":
            await anyio.to_thread.run_sync(session.close, limiter=gate.closers)
        else:
            session.close()
    except DBAPIError as exc:
        # The connection died after the answer was built (PostgreSQL
        # restarted): SQLAlchemy has dropped it; nothing was lost.
        log.warning("closing a session failed: %s", exc.__class__.__name__)


@contextmanager
def read_session() -> Iterator[Session]:
    """A short session of its own for a read (the auth lookup), whose
    connection is back in the pool when the block ends. On SQLite it begins
    deferred: a read needs no write lock. On PostgreSQL it runs in autocommit:
    no BEGIN and ROLLBACK round trips (a third less time per cold login)."""
    with get_engine().connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.info["sqlite_begin"] = "BEGIN"
        else:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            with Session(bind=conn, expire_on_commit=False) as session:
                yield session
        finally:
            if sqlite:
                conn.info.pop("sqlite_begin", None)


_CONNECTED = "fervlab_connected"


@event.listens_for(Session, "after_begin")
def _took_a_connection(session, _transaction, _connection):  # pragma: no cover - trivial
    session.info[_CONNECTED] = True


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _gave_it_back(session):  # pragma: no cover - trivial
    session.info.pop(_CONNECTED, None)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for workers and the CLI: commit on success, roll back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise
