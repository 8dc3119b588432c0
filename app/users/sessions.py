"""Server-side browser sessions.

The signed cookie names a LoginSession row, so a session ends on the server:
logout ends one, a password change or "log out everywhere" ends all of a
person's (but the one making the change), deactivation ends all. A replayed
cookie of an ended session is refused at once by the process that ended it
(its flush empties app/core/auth_cache.py) and by every other process within
auth_cache.TTL_S.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_
from sqlmodel import Session, func, select

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.security import hash_token, make_session_cookie, new_session_id, read_session_cookie
from app.users.models import LoginSession, User


def start(session: Session, *, user: User) -> str:
    """A new session for `user`; returns the cookie value that names it."""
    now = utcnow()
    # Housekeeping on the way in: this person's dead sessions go.
    session.exec(delete(LoginSession).where(
        LoginSession.user_id == user.id, or_(LoginSession.ended_at.is_not(None), LoginSession.expires_at <= now)))
    sid = new_session_id()
    session.add(LoginSession(user_id=user.id, sid_hash=hash_token(sid), created_at=now,
                             expires_at=now + timedelta(seconds=get_settings().session_max_age_s)))
    session.commit()
    return make_session_cookie(sid)


def user_for(session: Session, sid_hash: str) -> User | None:
    """The person of a live session, in one query; None when it ended or expired."""
    return session.exec(
        select(User).join(LoginSession, LoginSession.user_id == User.id).where(
            LoginSession.sid_hash == sid_hash, LoginSession.ended_at.is_(None), LoginSession.expires_at > utcnow())
    ).first()


def end(session: Session, *, cookie: str | None) -> None:
    """End the session a cookie names (logout); nothing when it names none."""
    data = read_session_cookie(cookie)
    if data is None:
        return
    row = session.exec(select(LoginSession).where(LoginSession.sid_hash == hash_token(data["sid"]))).first()
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        session.add(row)
        session.commit()


def end_all(session: Session, *, user_id: int, keep_sid_hash: str | None = None) -> None:
    """End every live session of a person but `keep_sid_hash`; the caller
    commits. Rows, not a bulk UPDATE, so the flush empties the auth cache."""
    q = select(LoginSession).where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
    now = utcnow()
    for row in session.exec(q).all():
        if row.sid_hash != keep_sid_hash:
            row.ended_at = now
            session.add(row)
    session.flush()


def count_live(session: Session, *, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None), LoginSession.expires_at > utcnow())).one()
