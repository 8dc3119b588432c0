"""Dependencies of the labelling API.

`Writer` / `AdminWriter`: JSON writes that browsers make too: authenticate
first (401 before 403), then check CSRF for cookie-authenticated calls
(bearer calls need none; see app.core.deps.verify_csrf).

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
from typing import Annotated

from fastapi import Depends, Request

from app.core.config import get_settings
from app.core.deps import AdminUser, CurrentUser, verify_csrf
from app.users.models import User

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


async def _writer(request: Request, user: CurrentUser) -> User:
    await verify_csrf(request)
    return user


async def _admin_writer(request: Request, user: AdminUser) -> User:
    await verify_csrf(request)
    return user


Writer = Annotated[User, Depends(_writer)]
AdminWriter = Annotated[User, Depends(_admin_writer)]
