"""Trained models, their per-scope results and their predictions on clips."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import json_field


class ModelCheckpoint(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    model_name: str = Field(max_length=60)
    path: str = Field(max_length=512)  # relative to MEDIA_ROOT
    epochs: int = 0
    config: dict = json_field()
    metrics: dict = json_field()
    train_clips: int = 0
    device: str = Field(default="cpu", max_length=16)
    seconds: float | None = None
    # The dataset release it was trained on (None: the live trusted labels).
    release: str | None = Field(default=None, max_length=80, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class BenchmarkResult(SQLModel, table=True):
    """One evaluation of a checkpoint on one scope: all, a scenario, a scene
    or a class (expression)."""

    __table_args__ = (sa.Index("ix_benchmark_ckpt_scope", "checkpoint_id", "scope", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    checkpoint_id: int = Field(foreign_key="modelcheckpoint.id")
    scope: str = Field(max_length=16)  # all | scenario | scene | class
    key: str = Field(default="", max_length=80)
    war: float | None = None
    uar: float | None = None
    n: int = 0
    confusion: list = json_field(default_factory=list)
    # The dataset release whose test split this was measured on.
    release: str | None = Field(default=None, max_length=80, index=True)
    created_at: datetime = Field(default_factory=utcnow)


class Prediction(SQLModel, table=True):
    """A model's probabilities over the seven expressions for one clip.
    `checkpoint_id` NULL means the pretrained prior."""

    __table_args__ = (sa.Index("ix_prediction_clip_created", "clip_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(foreign_key="clip.id")
    checkpoint_id: int | None = Field(default=None, foreign_key="modelcheckpoint.id")
    model_name: str = Field(max_length=60)
    probs: dict = json_field()
    ranking: list[str] = json_field(default_factory=list)
    top: str = Field(max_length=40)
    entropy: float = 0.0
    created_at: datetime = Field(default_factory=utcnow)
