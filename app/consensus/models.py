"""Consensus runs and the labels they give each clip."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import json_field, str_enum_field


class LabelStatus(str, Enum):
    trusted = "trusted"
    needs_votes = "needs_votes"
    review = "review"
    rejected = "rejected"


class ConsensusRun(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    method: str = Field(max_length=40)
    params: dict = json_field()
    # Fitted annotator parameters (e.g. Dawid–Skene confusions) that the
    # per-annotation fast path reuses until the next full run.
    model_state: dict = json_field()
    status: str = Field(default="running", max_length=16)
    items: int = 0
    votes: int = 0
    seconds: float | None = None
    error: str | None = Field(default=None, max_length=1000)
    is_current: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class ConsensusLabel(SQLModel, table=True):
    """A clip's label. `run_id` NULL is the live label kept up to date on every
    vote; rows with a run id are the frozen output of that run."""

    __table_args__ = (sa.Index("ix_consensuslabel_run_clip", "run_id", "clip_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int | None = Field(default=None, foreign_key="consensusrun.id")
    clip_id: int = Field(foreign_key="clip.id", index=True)
    label: str | None = Field(default=None, max_length=40)
    confidence: float = 0.0
    posterior: dict = json_field()
    status: LabelStatus = str_enum_field(LabelStatus.needs_votes)
    votes: int = 0
    flags: list[str] = json_field(default_factory=list)
    updated_at: datetime = Field(default_factory=utcnow)
