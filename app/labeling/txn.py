"""Write transactions for the labelling hot path.

PostgreSQL: an ordinary transaction; the dealer locks pool rows itself with
`FOR UPDATE SKIP LOCKED`.

SQLite: one writer at a time. Threads of this process queue on a lock (an
instant hand-over, where SQLite's busy handler would sleep 1–100 ms between
retries), and the transaction starts with `BEGIN IMMEDIATE` so a writer in
another process (the embedded worker) cannot make our read snapshot stale
half-way through (SQLITE_BUSY_SNAPSHOT is an error, not a wait).
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

_SQLITE_WRITER = threading.Lock()


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


@contextmanager
def write_transaction(session: Session) -> Iterator[Session]:
    """Run the block as one transaction; commit on success, roll back on error."""
    # End the read transaction that authentication opened; objects stay loaded
    # (sessions are made with expire_on_commit=False).
    session.commit()
    sqlite = is_sqlite(session)
    if sqlite:
        _SQLITE_WRITER.acquire()
    try:
        if sqlite:
            conn = session.connection()
            # The engine's `begin` hook has just sent a deferred BEGIN and
            # nothing has been read yet: swap it for BEGIN IMMEDIATE.
            conn.exec_driver_sql("ROLLBACK")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        if sqlite:
            _SQLITE_WRITER.release()
