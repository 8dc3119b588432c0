"""Users and ways to act as them."""
from __future__ import annotations

import itertools

from sqlmodel import Session

from app.users.models import Role, User, UserCreate
from app.users.service import create_user, issue_token

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)


def make_user(session: Session, role: Role = Role.annotator, *, email: str | None = None) -> User:
    email = email or f"{role.value}{next(_seq)}@example.org"
    session.commit()  # end any read snapshot: the app may have written since
    return create_user(session, data=UserCreate(email=email, password=PASSWORD, role=role))


def bearer(session: Session, user: User) -> dict[str, str]:
    session.commit()
    return {"Authorization": f"Bearer {issue_token(session, user=user)}"}


def browser_login(client, user: User, password: str = PASSWORD):
    """Log `client` in through the login form, as a person would."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post("/login", data={"email": user.email, "password": password, "csrf_token": token, "next": "/"},
                       follow_redirects=False)
