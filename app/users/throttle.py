"""Password guessing, slowed down without locking anyone out.

Every refused password is counted in two sliding windows
(`login_window_s`): its (account, client address) pair and its client
address. A full bucket answers 429 with Retry-After, before any password is
checked. There is no bucket for an account on its own: a stranger who fills
one could lock its owner out. So a person who logs in from their own address
is never stopped by what others try against their account elsewhere, and a
guesser gets `login_failures_per_account` tries per account and address, and
`login_failures_per_address` tries in all, per window. A correct password
empties its pair's bucket.

The counts live in the database (same code on SQLite and PostgreSQL), so all
uvicorn workers share them. Checking and counting are not one atomic step:
requests racing in at the same moment can each pass the check, so a burst
may overshoot a limit by the number of requests served at once; the next
one is refused.
"""
from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import TooManyRequests
from app.core.security import hash_token
from app.users.models import LoginFailure


def address_of(request) -> str:
    """The bucket address of a Starlette request's client."""
    return client_address(request.client.host if request.client else None)


def client_address(host: str | None) -> str:
    """The address a bucket is kept for: IPv6 by its /64, which one machine
    usually owns whole (counting single addresses would let it rotate)."""
    if not host:
        return "unknown"
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _pair(email: str, address: str) -> str:
    return hash_token(f"pair:{email.strip().lower()}|{address}")


def _buckets(email: str, address: str) -> list[tuple[str, int]]:
    s = get_settings()
    return [(_pair(email, address), s.login_failures_per_account),
            (hash_token(f"addr:{address}"), s.login_failures_per_address)]


def check(session: Session, *, email: str, address: str, now: datetime | None = None) -> None:
    """Raise TooManyRequests when either bucket of this attempt is full."""
    now = now or utcnow()
    window = get_settings().login_window_s
    since = now - timedelta(seconds=window)
    for bucket, limit in _buckets(email, address):
        recent = session.exec(
            select(LoginFailure.at).where(LoginFailure.bucket == bucket, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc()).limit(limit)
        ).all()
        if len(recent) >= limit:
            # The bucket has room again once the limit-th latest failure leaves the window.
            wait = (recent[-1] + timedelta(seconds=window) - now).total_seconds()
            raise TooManyRequests(
                f"Too many failed logins; try again in {_in_words(wait)}.", retry_after_s=math.ceil(wait))


def record_failure(session: Session, *, email: str, address: str, now: datetime | None = None) -> None:
    """Count a refused password in both its buckets (commits: the request
    that refused it rolls back)."""
    now = now or utcnow()
    session.exec(delete(LoginFailure).where(
        LoginFailure.at <= now - timedelta(seconds=get_settings().login_window_s)))
    for bucket, _ in _buckets(email, address):
        session.add(LoginFailure(bucket=bucket, at=now))
    session.commit()


def forget(session: Session, *, email: str, address: str) -> None:
    """A correct password: this pair starts afresh (the address bucket keeps
    counting, so one known password does not reset a guesser's budget).
    Committed with what the login makes next (its session or token)."""
    session.exec(delete(LoginFailure).where(LoginFailure.bucket == _pair(email, address)))


def _in_words(seconds: float) -> str:
    if seconds <= 90:
        return f"{max(1, math.ceil(seconds))} seconds"
    return f"{math.ceil(seconds / 60)} minutes"
