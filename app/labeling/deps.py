"""Dependencies for JSON writes that browsers make too: authenticate first
(401 before 403), then check CSRF for cookie-authenticated calls (bearer
calls need none; see app.core.deps.verify_csrf)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.core.deps import AdminUser, CurrentUser, verify_csrf
from app.users.models import User


async def _writer(request: Request, user: CurrentUser) -> User:
    await verify_csrf(request)
    return user


async def _admin_writer(request: Request, user: AdminUser) -> User:
    await verify_csrf(request)
    return user


Writer = Annotated[User, Depends(_writer)]
AdminWriter = Annotated[User, Depends(_admin_writer)]
