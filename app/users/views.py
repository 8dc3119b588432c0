"""Browser pages: login, logout and the home page of each role."""
from __future__ import annotations

from typing import Annotated

import secrets
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from app.core.config import get_settings
from app.core.deps import AdminPage, CsrfChecked, PageUser, SessionDep
from app.core.errors import Unauthorized
from app.core.security import SESSION_COOKIE, make_session_cookie
from app.core.templating import render
from app.core.types import Text
from app.dashboard import service as dashboard
from app.users import service
from app.users.models import Role

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
        user = service.authenticate(session, email=email, password=password)
    except Unauthorized as exc:
        return _login_page(request, next=_safe_next(next), email=email, error=exc.detail, status_code=401)
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(SESSION_COOKIE, make_session_cookie(user.id), httponly=True, samesite="lax",
                    secure=get_settings().env == "prod", max_age=get_settings().session_max_age_s)
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout", dependencies=[CsrfChecked])
def logout():
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
