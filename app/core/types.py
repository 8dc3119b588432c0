"""Small shared column helpers for the SQLModel tables."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Field


def json_field(default_factory=dict, **kw: Any) -> Any:
    return Field(default_factory=default_factory, sa_type=sa.JSON, **kw)


def str_enum_field(default: Any, length: int = 16, **kw: Any) -> Any:
    # Enums are stored as plain strings: no PostgreSQL ENUM types to migrate.
    return Field(default=default, sa_type=sa.String(length), **kw)
