"""Passwords (argon2), API tokens and session ids (random, stored as sha256),
signed session cookies and CSRF tokens (itsdangerous)."""
from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.core.config import get_settings

_hasher = PasswordHasher()
SESSION_COOKIE = "fervlab_session"
# A real hash to verify against when the email is unknown, so a wrong email
# and a wrong password take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    return "fvl_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(get_settings().secret_key, salt="fervlab-session")


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def make_session_cookie(sid: str) -> str:
    # `sid` names the server-side session (app/users/sessions.py), which is
    # what logout and revocation end; the CSRF secret rides inside the signed
    # cookie, so forms are checked without another lookup.
    return _serializer().dumps({"sid": sid, "csrf": secrets.token_urlsafe(16)})


def read_session_cookie(value: str | None) -> dict | None:
    if not value:
        return None
    try:
        data = _serializer().loads(value, max_age=get_settings().session_max_age_s)
    except BadSignature:
        return None
    # Cookies from before server-side sessions (no "sid") are simply invalid.
    return data if isinstance(data, dict) and isinstance(data.get("sid"), str) else None


def csrf_token_for(session: dict | None) -> str:
    return (session or {}).get("csrf", "")


def csrf_ok(session: dict | None, token: str | None) -> bool:
    expected = csrf_token_for(session)
    return bool(expected) and bool(token) and hmac.compare_digest(expected, token)
