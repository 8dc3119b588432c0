"""A record for every long-running operation sent to the workers, so a task
takes an id, can run twice, and pages can show its progress."""
from __future__ import annotations

from datetime import datetime
from enum import Enum

from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.types import json_field, str_enum_field


class JobStatus(str, Enum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class Job(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)  # train, evaluate, prerank, consensus, health…
    params: dict = json_field()
    status: JobStatus = str_enum_field(JobStatus.queued)
    progress: float = 0.0
    result: dict = json_field()
    error: str | None = Field(default=None, max_length=2000)
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None
    # Liveness (app/jobs/liveness.py): the worker running it beats; a row
    # whose beat stopped is re-queued or failed by the reaper.
    heartbeat_at: datetime | None = None
    attempts: int = 0  # times sent to the broker since the last manual retry
    run_token: str | None = Field(default=None, max_length=32)  # the run that holds it

    @property
    def retryable(self) -> bool:
        """Failed, or its worker stopped (see app/jobs/liveness.py)."""
        from app.jobs.liveness import JOBS, is_stuck

        return self.status == JobStatus.failed or is_stuck(JOBS, self)
