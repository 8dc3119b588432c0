"""FastAPI dependencies as `Annotated` aliases."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, select

from app.core import auth_cache
from app.core.db import get_session, read_session, utcnow
from app.core.errors import Forbidden, Unauthorized
from app.core.security import SESSION_COOKIE, hash_token, read_session_cookie
from app.users import sessions
from app.users.models import ROLE_RANK, ApiToken, Role, User

SessionDep = Annotated[Session, Depends(get_session)]


class LoginRequired(Exception):
    """Raised by page dependencies; main.py turns it into a redirect to /login."""


def _credential(request: Request) -> tuple[str, object] | None:
    """('token', sha256 of the bearer token) or ('sid', sha256 of the session
    id in the signed cookie), or None when the request carries neither."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return ("token", hash_token(auth[7:].strip()))
    data = read_session_cookie(request.cookies.get(SESSION_COOKIE))
    request.state.session_data = data
    return None if data is None else ("sid", hash_token(data["sid"]))


def _load_user(session: Session, key: tuple[str, object]) -> User | None:
    gen = auth_cache.generation()
    if key[0] == "token":
        row = session.exec(
            select(ApiToken).where(ApiToken.token_hash == key[1], ApiToken.revoked_at.is_(None))
        ).first()
        if row is None:
            raise Unauthorized("Invalid or revoked API token.")
        user = session.get(User, row.user_id)
    else:
        user = sessions.user_for(session, key[1])  # None once the session ended
    if user is not None:
        auth_cache.put(key, user, gen)
    return user


def _load_user_apart(key: tuple[str, object]) -> User | None:
    """The lookup in a session of its own, whose connection is back in the
    pool before this returns: a request must not hold a connection while it
    waits for the thread that runs its handler (issue 10)."""
    with read_session() as own:
        return _load_user(own, key)


async def _user_from_request(request: Request, session: Session) -> User | None:
    key = _credential(request)
    if key is None:
        return None
    cached = auth_cache.get(key)
    if cached is None:
        cached = await run_in_threadpool(_load_user_apart, key)
        if cached is None:
            return None
    return auth_cache.attach(session, cached)


async def get_current_user(request: Request, session: SessionDep) -> User:
    user = await _user_from_request(request, session)
    if user is None:
        raise Unauthorized("Not authenticated: send 'Authorization: Bearer <token>' or log in.")
    if not user.active:
        raise Unauthorized("This account is deactivated.")
    request.state.user = user
    return user


async def get_page_user(request: Request, session: SessionDep) -> User:
    try:
        user = await _user_from_request(request, session)
    except Unauthorized:
        user = None
    if user is None or not user.active:
        raise LoginRequired()
    request.state.user = user
    return user


async def verify_csrf(request: Request) -> None:
    """Browser writes carry the CSRF token of their session (form field
    `csrf_token` or header `X-CSRF-Token`). Bearer-token calls need none, and
    neither does a request without a valid session cookie: it carries no
    ambient authority, and authentication refuses it where one is needed."""
    from app.core.security import csrf_ok

    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    data = read_session_cookie(request.cookies.get(SESSION_COOKIE))
    if data is None:
        return
    token = request.headers.get("x-csrf-token")
    if not token:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()  # Starlette caches it: the route reads the same form
            token = form.get("csrf_token")
    if not csrf_ok(data, token if isinstance(token, str) else None):
        raise Forbidden("Missing or wrong CSRF token: reload the page and try again.")


def credential_of(request: Request) -> tuple[str, object] | None:
    """The credential this request authenticated with (see _credential): what
    a password change keeps while it ends the others."""
    return _credential(request)


CsrfChecked = Depends(verify_csrf)

CurrentUser = Annotated[User, Depends(get_current_user)]
PageUser = Annotated[User, Depends(get_page_user)]


def require_role(role: Role, *, page: bool = False):
    async def dep(user: User = Depends(get_page_user if page else get_current_user)) -> User:
        if ROLE_RANK[Role(user.role)] < ROLE_RANK[role]:
            raise Forbidden(f"This needs the {role.value} role.")
        return user

    return dep


def require_writer(role: Role, *, page: bool = False):
    """The write protection of every state-changing route: the role first
    (401/403, or the login page), then the CSRF token for cookie sessions.
    tests/core/test_write_protection.py walks the router for it."""
    async def dep(user: User = Depends(require_role(role, page=page)), _: None = Depends(verify_csrf)) -> User:
        return user

    return dep


AdminUser = Annotated[User, Depends(require_role(Role.admin))]
ReviewerUser = Annotated[User, Depends(require_role(Role.reviewer))]
AnnotatorUser = Annotated[User, Depends(require_role(Role.annotator))]
AdminPage = Annotated[User, Depends(require_role(Role.admin, page=True))]
ReviewerPage = Annotated[User, Depends(require_role(Role.reviewer, page=True))]
# Writes: JSON API (bearer or cookie) and HTML forms.
Writer = Annotated[User, Depends(require_writer(Role.annotator))]
ReviewerWriter = Annotated[User, Depends(require_writer(Role.reviewer))]
AdminWriter = Annotated[User, Depends(require_writer(Role.admin))]
PageWriter = Annotated[User, Depends(require_writer(Role.annotator, page=True))]
ReviewerPageWriter = Annotated[User, Depends(require_writer(Role.reviewer, page=True))]
AdminPageWriter = Annotated[User, Depends(require_writer(Role.admin, page=True))]

__all__ = [
    "SessionDep", "CsrfChecked", "CurrentUser", "PageUser", "AdminUser", "ReviewerUser", "AnnotatorUser",
    "AdminPage", "ReviewerPage", "Writer", "ReviewerWriter", "AdminWriter", "PageWriter", "ReviewerPageWriter",
    "AdminPageWriter", "LoginRequired", "utcnow",
]
