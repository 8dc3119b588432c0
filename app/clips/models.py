"""Candidate face clips: what annotators label and models learn from."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import json_field, str_enum_field


class Split(str, Enum):
    train = "train"
    test = "test"


class ClipSource(str, Enum):
    ingest = "ingest"
    demo = "demo"
    ferv39k = "ferv39k"


class Clip(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=200)  # stable name, also the folder name
    video_id: int | None = Field(default=None, foreign_key="video.id", index=True)
    scene_id: int = Field(foreign_key="scene.id", index=True)
    source: ClipSource = str_enum_field(ClipSource.ingest)
    start_s: float = 0.0
    end_s: float = 0.0
    start_frame: int = 0
    frame_count: int = 0
    fps: float = 0.0
    # Paths relative to MEDIA_ROOT (FERV39k-like layout, see workers/ingest).
    face_dir: str = Field(max_length=512)
    scene_dir: str | None = Field(default=None, max_length=512)
    preview_path: str | None = Field(default=None, max_length=512)
    boxes: list = json_field(default_factory=list)
    face_size: float | None = None
    sharpness: float | None = None
    det_confidence: float | None = None
    stability: float | None = None
    split: Split | None = Field(default=None, sa_type=sa.String(8), index=True)
    # A label that came with the clip (e.g. an imported FERV39k label).
    source_label: str | None = Field(default=None, max_length=40)
    # The face detector that found the clip, and its build ("yuface 2023.5.1").
    detector: str | None = Field(default=None, max_length=40)
    detector_version: str | None = Field(default=None, max_length=80)
    created_at: datetime = Field(default_factory=utcnow)


class ClipPublic(SQLModel):
    id: int
    key: str
    video_id: int | None
    scene_id: int
    source: ClipSource
    start_s: float
    end_s: float
    frame_count: int
    fps: float
    face_size: float | None
    sharpness: float | None
    det_confidence: float | None
    stability: float | None
    split: Split | None
    detector: str | None = None
    detector_version: str | None = None
    media_url: str | None = None


class GoldAnswer(SQLModel, table=True):
    """An expert's answer for a clip, used to measure annotators."""

    id: int | None = Field(default=None, primary_key=True)
    clip_id: int = Field(foreign_key="clip.id", unique=True)
    expression: str = Field(max_length=40)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
