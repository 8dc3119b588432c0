"""Write transactions for the labelling hot path.

PostgreSQL: an ordinary transaction; the dealer locks pool rows itself with
`FOR UPDATE SKIP LOCKED`.

SQLite: one writer at a time. The engine begins every transaction with
BEGIN IMMEDIATE (app.core.db), which takes the file's write lock up front, so
a writer in another process (the embedded worker) cannot make our read
snapshot stale half-way through (SQLITE_BUSY_SNAPSHOT is an error, not a
wait). Threads of this process queue on a lock first: an instant hand-over,
where SQLite's busy handler would poll with sleeps of 1–100 ms.
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
    """Run the block as one transaction; commit on success, roll back on error.

    On PostgreSQL the block simply continues the request's transaction (read
    committed: each statement sees the latest commits). On SQLite that
    transaction already holds the file's write lock, so it is committed
    first: never wait for the thread lock while holding the file lock."""
    sqlite = is_sqlite(session)
    if sqlite:
        # Objects stay loaded: sessions are made with expire_on_commit=False.
        session.commit()
        _SQLITE_WRITER.acquire()
    try:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        if sqlite:
            _SQLITE_WRITER.release()
