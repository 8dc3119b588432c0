"""People and their API tokens."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import Bool, Email, Text, str_enum_field


class Role(str, Enum):
    admin = "admin"
    reviewer = "reviewer"
    annotator = "annotator"


# Who may act as whom: an admin can do what a reviewer can, and so on.
ROLE_RANK = {Role.annotator: 0, Role.reviewer: 1, Role.admin: 2}


class UserBase(SQLModel):
    email: str = Field(unique=True, index=True, max_length=254)
    role: Role = str_enum_field(Role.annotator)
    active: bool = True


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    password_hash: str = Field(max_length=255)
    # Paused by quality control (low gold accuracy); an admin can reinstate.
    paused: bool = False
    paused_reason: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class UserCreate(SQLModel):
    email: Email
    password: Text(256, min_length=8)
    role: Role = Role.annotator


class UserUpdate(SQLModel):
    role: Role | None = None
    active: Bool | None = None
    paused: Bool | None = None
    password: Text(256, min_length=8) | None = None


class PasswordChange(SQLModel):
    current_password: Text(256)
    new_password: Text(256, min_length=8)


class UserPublic(SQLModel):
    id: int
    email: str
    role: Role
    active: bool
    paused: bool
    created_at: datetime


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str = Field(default="api", max_length=80)
    # sha256 of the token: tokens are high-entropy, so a fast hash is enough
    # and lets every request look its token up by index.
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class LoginSession(SQLModel, table=True):
    """A signed-in browser. The session cookie names it, so logout, a password
    change, deactivation and "log out everywhere" end it on the server, not
    only in the browser that happens to delete its cookie."""
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    # sha256 of the random id in the cookie, as for API tokens.
    sid_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    ended_at: datetime | None = None


class LoginFailure(SQLModel, table=True):
    """One refused password, once per bucket it counts in (app/users/throttle.py).
    In the database, so every uvicorn worker counts the same attempts."""
    __table_args__ = (Index("ix_loginfailure_bucket_at", "bucket", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    # sha256 of the bucket's name ("pair:<email>|<address>", "addr:<address>"):
    # bounded in size whatever the attacker types, and no email kept in clear.
    bucket: str = Field(max_length=64)
    at: datetime = Field(default_factory=utcnow, index=True)  # expired rows are deleted by it
