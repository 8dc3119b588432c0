"""Raw videos registered to a scene."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import str_enum_field


class VideoStatus(str, Enum):
    queued = "queued"
    processing = "processing"
    done = "done"
    failed = "failed"


class Video(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    scene_id: int = Field(foreign_key="scene.id", index=True)
    filename: str = Field(max_length=255)  # as uploaded
    path: str = Field(max_length=512)  # relative to MEDIA_ROOT
    size_bytes: int = 0
    sha256: str = Field(default="", max_length=64, index=True)
    status: VideoStatus = str_enum_field(VideoStatus.queued)
    error: str | None = Field(default=None, max_length=1000)
    progress: float = 0.0
    stage: str = Field(default="", max_length=80)
    duration_s: float | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    clips_count: int = 0
    # The face detector to ingest with; None: the best one the worker has.
    detector: str | None = Field(default=None, max_length=40)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # Liveness of its ingest, as on Job (app/jobs/liveness.py).
    heartbeat_at: datetime | None = None
    attempts: int = 0
    run_token: str | None = Field(default=None, max_length=32)

    @property
    def retryable(self) -> bool:
        """Its ingest failed, or its worker stopped (see app/jobs/liveness.py)."""
        from app.jobs.liveness import INGESTS, is_stuck

        return self.status == VideoStatus.failed or is_stuck(INGESTS, self)


class VideoPublic(SQLModel):
    video_id: int
    scene_id: int
    filename: str
    status: VideoStatus
    clips: int
    error: str | None
    progress: float
    stage: str
    duration_s: float | None
    detector: str | None = None
    created_at: datetime
