"""Accounts, logins and API tokens."""
from __future__ import annotations

from sqlmodel import Session, func, select

from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from app.core.security import hash_password, hash_token, new_api_token, verify_password
from app.users import sessions, throttle
from app.users.models import ApiToken, PasswordChange, Role, User, UserCreate, UserUpdate


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


def update_user(session: Session, *, user_id: int, data: UserUpdate, by: User | None = None) -> User:
    """An admin's change to an account (`by`: who makes it; None for the CLI).
    A new password or a deactivation ends the person's sessions and tokens."""
    user = get_user(session, user_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if by is not None and by.id == user.id and (
            changes.get("active") is False or Role(changes.get("role", Role.admin)) != Role.admin):
        # Someone must stay able to undo it: the last admin could lock everyone out.
        raise Forbidden("You cannot deactivate or demote yourself.")
    ends_access = "password" in changes or changes.get("active") is False
    if "password" in changes:
        user.password_hash = hash_password(changes.pop("password"))
    if changes.get("paused") is False:
        user.paused_reason = None
    for k, v in changes.items():
        setattr(user, k, v)
    session.add(user)
    if ends_access:
        end_access(session, user_id=user.id)
    session.commit()
    if changes.get("paused") is True or changes.get("active") is False:
        from app.consensus.service import redecide_for_user

        redecide_for_user(session, user_id=user.id)  # clips that waited for their votes

    return user


def authenticate(session: Session, *, email: str, password: str, address: str) -> User:
    """The active person with this email and password. `address` is the
    client's (throttle.client_address): refused passwords are counted per
    account and address, and a full bucket answers 429 before any check."""
    throttle.check(session, email=email, address=address)
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    ok = verify_password(password, user.password_hash if user else None)
    if user is None or not ok or not user.active:
        throttle.record_failure(session, email=email, address=address)
        # One message for every failure: do not reveal which part was wrong.
        raise Unauthorized("Incorrect email or password.")
    throttle.forget(session, email=email, address=address)
    return user


def change_password(session: Session, *, user: User, data: PasswordChange, address: str,
                    keep: tuple[str, object] | None) -> None:
    """A person changes their own password, proving the current one (throttled
    like a login). Every other session and API token of theirs ends: a changed
    password is what someone does who fears another knows it, and tokens made
    with the old one must not outlive it. `keep` (the credential making the
    change, app.core.deps.credential_of) stays signed in."""
    throttle.check(session, email=user.email, address=address)
    if not verify_password(data.current_password, user.password_hash):
        throttle.record_failure(session, email=user.email, address=address)
        raise Forbidden("Your current password is wrong.")
    throttle.forget(session, email=user.email, address=address)
    user.password_hash = hash_password(data.new_password)
    session.add(user)
    end_access(session, user_id=user.id, keep=keep)
    session.commit()


def log_out_everywhere(session: Session, *, user: User) -> None:
    end_access(session, user_id=user.id)
    session.commit()


def end_access(session: Session, *, user_id: int, keep: tuple[str, object] | None = None) -> None:
    """End every browser session and revoke every API token of a person, but
    the one credential `keep` names; the caller commits ("log out everywhere"
    when it keeps nothing)."""
    sessions.end_all(session, user_id=user_id, keep_sid_hash=keep[1] if keep and keep[0] == "sid" else None)
    keep_token = keep[1] if keep and keep[0] == "token" else None
    now = utcnow()
    for row in session.exec(select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))):
        if row.token_hash != keep_token:
            row.revoked_at = now
            session.add(row)
    session.flush()


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


def live_access(session: Session, *, user: User) -> dict[str, int]:
    """How many browsers and API tokens can act as this person now."""
    tokens = session.exec(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).one()
    return {"sessions": sessions.count_live(session, user_id=user.id), "tokens": tokens}
