"""Engine and sessions. SQLite gets WAL and a busy timeout so the web process
and the embedded worker can share one file."""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlmodel import Session, create_engine

from app.core.config import get_settings


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
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

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
    engine = create_engine(url, pool_size=20, max_overflow=20)
    _ping_after_idle(engine)
    return engine


# A pooled connection that sat idle this long is pinged before use (a
# PostgreSQL restart meanwhile would otherwise fail the next request). Busy
# connections are not: pool_pre_ping's round trip on every checkout cost the
# labelling API a tenth of its throughput.
PING_AFTER_IDLE_S = 5.0


def _ping_after_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn, record):  # pragma: no cover - trivial
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn, record, _proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
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


async def get_session() -> AsyncIterator[Session]:
    """The request's session. Async so that FastAPI does not hop to a worker
    thread to open it and again to close it (a sync generator dependency
    costs two hops). Closing is a rollback and a return to the pool: local
    and instant on SQLite, so it runs here; a network round trip on
    PostgreSQL, so there it runs off the loop, and only if the session took a
    connection at all (a request answered from the auth cache may not)."""
    session = Session(get_engine(), expire_on_commit=False)
    try:
        yield session
    finally:
        if session.info.get(_CONNECTED) and session.get_bind().dialect.name != "sqlite":
            await run_in_threadpool(session.close)
        else:
            session.close()


_CONNECTED = "fervlab_connected"


@event.listens_for(Session, "after_begin")
def _took_a_connection(session, _transaction, _connection):  # pragma: no cover - trivial
    session.info[_CONNECTED] = True


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
