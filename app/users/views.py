"""Browser pages: login, logout and the home page of each role."""
from __future__ import annotations

from typing import Annotated

import secrets
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.core.config import get_settings
from app.core.deps import AdminPage, CsrfChecked, PageUser, PageWriter, SessionDep, credential_of
from app.core.errors import DomainError, Invalid, TooManyRequests, Unauthorized, form_message
from app.core.security import SESSION_COOKIE
from app.core.templating import render
from app.core.types import Text
from app.dashboard import service as dashboard
from app.users import service, sessions
from app.users.models import PasswordChange, Role
from app.users.throttle import address_of

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "fervlab_login_csrf"


def _safe_next(target: str | None) -> str:
    # Only local paths: never redirect a login to another site.
    if not target or urlparse(target).netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _login_page(request: Request, *, next: str, error: str | None = None, email: str | None = None,
                status_code: int = 200):
    token = secrets.token_urlsafe(16)
    resp = render(request, "users/login.html", {"next": next, "error": error, "email": email, "login_csrf": token},
                  status_code=status_code)
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax")
    return resp


@router.get("/login")
def login_form(request: Request, next: Text(2000) = "/"):
    return _login_page(request, next=_safe_next(next))


@router.post("/login")
def login(request: Request, session: SessionDep, email: Annotated[Text(254), Form()] = "", password: Annotated[Text(256), Form()] = "",
          csrf_token: Annotated[Text(200), Form()] = "", next: Annotated[Text(2000), Form()] = "/"):
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _login_page(request, next=_safe_next(next), email=email, status_code=403,
                           error="Your login form expired; please try again.")
    try:
        user = service.authenticate(session, email=email, password=password, address=address_of(request))
    except TooManyRequests as exc:
        resp = _login_page(request, next=_safe_next(next), email=email, error=exc.detail, status_code=429)
        resp.headers.update(exc.headers)
        return resp
    except Unauthorized as exc:
        return _login_page(request, next=_safe_next(next), email=email, error=exc.detail, status_code=401)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, sessions.start(session, user=user), httponly=True, samesite="lax",
                    secure=get_settings().env == "prod", max_age=get_settings().session_max_age_s)
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep):
    """Ends this browser's session on the server: a copy of the cookie kept
    elsewhere is refused from now on."""
    sessions.end(session, cookie=request.cookies.get(SESSION_COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


def _account_page(request: Request, session, user, *, error: str | None = None, notice: str | None = None,
                  status_code: int = 200):
    return render(request, "users/account.html", {"access": service.live_access(session, user=user),
                                                   "error": error, "notice": notice}, status_code=status_code)


@router.get("/account")
def account(request: Request, session: SessionDep, user: PageUser):
    return _account_page(request, session, user)


@router.post("/account/password")
def change_password(request: Request, session: SessionDep, user: PageWriter, current_password: Annotated[Text(256), Form()] = "",
                    new_password: Annotated[Text(256), Form()] = "", confirm_password: Annotated[Text(256), Form()] = ""):
    """This browser stays signed in; every other session and API token ends."""
    try:
        if new_password != confirm_password:
            raise Invalid("The new password and its confirmation differ.")
        service.change_password(session, user=user, address=address_of(request), keep=credential_of(request),
                                data=PasswordChange(current_password=current_password, new_password=new_password))
    except (ValidationError, DomainError) as exc:
        session.rollback()
        code = exc.status_code if isinstance(exc, DomainError) else 422
        resp = _account_page(request, session, user, error=form_message(exc), status_code=code)
        resp.headers.update(getattr(exc, "headers", None) or {})
        return resp
    return _account_page(request, session, user,
                         notice="Password changed. Every other browser session and API token of yours has ended.")


@router.post("/account/logout-everywhere")
def logout_everywhere(session: SessionDep, user: PageWriter):
    """Every browser session (this one too) and every API token ends."""
    service.log_out_everywhere(session, user=user)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/")
def home(user: PageUser):
    return RedirectResponse("/admin" if user.role == Role.admin else "/annotate", status_code=303)


@router.get("/admin")
def admin_home(request: Request, session: SessionDep, _: AdminPage):
    return render(request, "admin/home.html", {
        "counts": dashboard.overview(session), "per_scene": dashboard.clips_per_scene(session)})
