"""Admin pages for accounts: create annotators, reviewers and admins; change
a role, deactivate, lift a quality pause. Forms post here; htmx swaps a row."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.core.deps import AdminPage, AdminPageWriter, SessionDep
from app.core.errors import DomainError, form_message
from app.core.templating import is_htmx, render
from app.core.types import Id, Text
from app.users import service as users
from app.users.models import Role, UserCreate, UserUpdate

router = APIRouter(include_in_schema=False)


def _users_page(request: Request, session, *, error: str | None = None, form: dict | None = None,
                status_code: int = 200):
    return render(request, "admin/users.html", {
        "people": users.list_users(session), "roles": [r.value for r in Role], "error": error, "form": form or {},
    }, status_code=status_code)


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, _: AdminPage):
    return _users_page(request, session)


@router.post("/admin/users")
def create_user(request: Request, session: SessionDep, _: AdminPageWriter, email: Annotated[Text(254), Form()] = "",
                password: Annotated[Text(256), Form()] = "", role: Annotated[Text(20), Form()] = "annotator"):
    try:
        users.create_user(session, data=UserCreate(email=email, password=password, role=role))
    except (ValidationError, DomainError) as exc:
        session.rollback()
        return _users_page(request, session, error=form_message(exc), form={"email": email, "role": role},
                           status_code=422)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}")
def update_user(user_id: Id, request: Request, session: SessionDep, admin: AdminPageWriter,
                role: Annotated[Text(20) | None, Form()] = None, active: Annotated[Text(10) | None, Form()] = None,
                paused: Annotated[Text(10) | None, Form()] = None):
    """One row's buttons: change role, deactivate/reactivate, lift a pause."""
    error = None
    try:
        data = UserUpdate(role=role or None, active=None if active is None else active == "1",
                          paused=None if paused is None else paused == "1")
        person = users.update_user(session, user_id=user_id, data=data, by=admin)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        person, error = users.get_user(session, user_id), form_message(exc)
    if is_htmx(request):
        return render(request, "admin/_user_row.html", {"p": person, "roles": [r.value for r in Role],
                                                        "row_error": error})
    return RedirectResponse("/admin/users", status_code=303)
