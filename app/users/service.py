"""Accounts, logins and API tokens."""
from __future__ import annotations

from sqlmodel import Session, func, select

from app.core.db import utcnow
from app.core.errors import Conflict, NotFound, Unauthorized
from app.core.security import hash_password, hash_token, new_api_token, verify_password
from app.users.models import ApiToken, Role, User, UserCreate, UserUpdate


def create_user(session: Session, *, data: UserCreate, commit: bool = True) -> User:
    if session.exec(select(User).where(User.email == data.email)).first() is not None:
        raise Conflict(f"A user with email {data.email} already exists.")
    user = User(email=data.email, role=data.role, password_hash=hash_password(data.password))
    session.add(user)
    if commit:
        session.commit()

    else:
        session.flush()
    return user


def ensure_user(session: Session, *, email: str, password: str, role: Role) -> User:
    """Create the user if missing (used by `init` and the demo seed)."""
    user = session.exec(select(User).where(User.email == email.lower())).first()
    if user is None:
        user = create_user(session, data=UserCreate(email=email, password=password, role=role), commit=False)
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"User {user_id} does not exist.")
    return user


def list_users(session: Session, *, role: Role | None = None) -> list[User]:
    q = select(User).order_by(User.id)
    if role is not None:
        q = q.where(User.role == role)
    return list(session.exec(q).all())


def count_users(session: Session, *, role: Role) -> int:
    return session.exec(select(func.count()).select_from(User).where(User.role == role)).one()


def update_user(session: Session, *, user_id: int, data: UserUpdate) -> User:
    user = get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
    if changes.get("paused") is False:
        user.paused_reason = None
    for k, v in changes.items():
        setattr(user, k, v)
    session.add(user)
    session.commit()
    if changes.get("paused") is True or changes.get("active") is False:
        from app.consensus.service import redecide_for_user

        redecide_for_user(session, user_id=user.id)  # clips that waited for their votes

    return user


def authenticate(session: Session, *, email: str, password: str) -> User:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        # One message for every failure: do not reveal which part was wrong.
        raise Unauthorized("Incorrect email or password.")
    return user


def issue_token(session: Session, *, user: User, name: str = "api") -> str:
    token = new_api_token()
    session.add(ApiToken(user_id=user.id, name=name, token_hash=hash_token(token)))
    session.commit()
    return token


def revoke_token(session: Session, *, user: User, token_id: int) -> None:
    row = session.get(ApiToken, token_id)
    if row is None or (row.user_id != user.id and user.role != Role.admin):
        raise NotFound(f"Token {token_id} does not exist.")
    row.revoked_at = utcnow()
    session.add(row)
    session.commit()


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all())
