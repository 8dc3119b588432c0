"""People and their API tokens."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

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
