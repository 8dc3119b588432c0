"""Dependencies of the labelling API (its writers, `Writer` and
`AdminWriter`, live in app.core.deps with every other route's).

`sqlite_turn`: on SQLite, one labelling request at a time per process, from
its first query to its last. Every SQLite transaction here begins with
BEGIN IMMEDIATE (app.core.db), so concurrent requests would otherwise queue
on the file lock, where SQLite's busy handler polls with sleeps of 1 to
100 ms; waiting for our turn on an asyncio lock hands over at once. SQLite
has one writer anyway, so nothing is lost. PostgreSQL: no-op.
"""
from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

from fastapi import Depends

from app.core.config import get_settings

# One lock per event loop (tests run several loops in one process).
_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


async def sqlite_turn() -> AsyncIterator[None]:
    if not get_settings().is_sqlite:
        yield
        return
    loop = asyncio.get_running_loop()
    lock = _turns.get(loop)
    if lock is None:
        lock = _turns[loop] = asyncio.Lock()
    async with lock:
        yield


SqliteTurn = Depends(sqlite_turn)

