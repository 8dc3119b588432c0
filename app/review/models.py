"""Expert decisions that override the consensus."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import str_enum_field


class ReviewDecision(str, Enum):
    label = "label"
    reject = "reject"


class Review(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(foreign_key="clip.id", index=True)
    reviewer_id: int = Field(foreign_key="user.id")
    decision: ReviewDecision = str_enum_field(ReviewDecision.label)
    expression: str | None = Field(default=None, max_length=40)
    reason: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)
