"""Liveness of work handed to the workers: Job rows and video ingests.

A worker *claims* a row before running it (one conditional UPDATE: only a
queued row, or a running one whose heartbeat stopped, can be claimed), and
beats while it runs. So a task delivered twice — Redis redelivers an
unacknowledged task after its visibility timeout, the reaper re-sends lost
ones — runs once at a time, and a row whose worker died is recognisable by
its silent heartbeat (app/jobs/reaper.py acts on it).
"""
from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, or_, update

from app.core.config import get_settings
from app.core.db import session_scope, utcnow
from app.core.errors import Conflict
from app.jobs.models import Job, JobStatus
from app.videos.models import Video, VideoStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkKind:
    """How one table spells the states of its work."""

    model: type
    queued: str
    running: str
    done: str
    failed: str
    noun: str
    label: str  # how messages name a row


JOBS = WorkKind(Job, JobStatus.queued.value, JobStatus.running.value, JobStatus.done.value,
                JobStatus.failed.value, "job", "Job")
INGESTS = WorkKind(Video, VideoStatus.queued.value, VideoStatus.processing.value, VideoStatus.done.value,
                   VideoStatus.failed.value, "ingest", "Video")


def new_token() -> str:
    return uuid.uuid4().hex


def _aware(t: datetime | None) -> datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=timezone.utc)


def stale_cutoff(now: datetime | None = None) -> datetime:
    return (now or utcnow()) - timedelta(seconds=get_settings().work_stale_s)


def _status(row) -> str:
    return getattr(row.status, "value", row.status)


def is_stuck(kind: WorkKind, row, now: datetime | None = None) -> bool:
    """Running with a silent heartbeat, or queued and not taken since it was
    last sent more than `work_stale_s` ago."""
    cutoff = stale_cutoff(now)
    status = _status(row)
    if status == kind.running:
        return row.heartbeat_at is None or _aware(row.heartbeat_at) < cutoff
    if status == kind.queued:
        since = _aware(row.heartbeat_at) or _aware(getattr(row, "created_at", None))
        return since is None or since < cutoff
    return False


def check_retryable(kind: WorkKind, row, *, when_done: str) -> None:
    """Conflict unless the row failed or its work is stuck (`when_done`: the
    message for finished work)."""
    status = _status(row)
    if status == kind.done:
        raise Conflict(when_done)
    if status != kind.failed and not is_stuck(kind, row):
        raise Conflict(f"{kind.label} {row.id} is {status} and alive; retry it once it has failed or stalled.")


def claim(kind: WorkKind, row_id: int, token: str) -> bool:
    """Take the row for this run; False when another live run holds it or it
    is finished."""
    m, now = kind.model, utcnow()
    stmt = (update(m)
            .where(m.id == row_id,
                   or_(m.status == kind.queued,
                       and_(m.status == kind.running,
                            or_(m.heartbeat_at.is_(None), m.heartbeat_at < stale_cutoff(now)))))
            .values(status=kind.running, run_token=token, heartbeat_at=now))
    with session_scope() as session:
        return session.execute(stmt).rowcount == 1


def beat(kind: WorkKind, row_id: int, token: str) -> bool:
    """Refresh the heartbeat; False when this run no longer holds the row."""
    m = kind.model
    stmt = (update(m).where(m.id == row_id, m.run_token == token, m.status == kind.running)
            .values(heartbeat_at=utcnow()))
    with session_scope() as session:
        return session.execute(stmt).rowcount == 1


class Heartbeat:
    """Beats from a thread while the body runs (a pipeline may spend minutes
    in one stage without reporting progress)."""

    def __init__(self, kind: WorkKind, row_id: int, token: str):
        self.kind, self.row_id, self.token = kind, row_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{kind.noun}-{row_id}", daemon=True)

    def _run(self) -> None:
        every = get_settings().work_heartbeat_s
        while not self._stop.wait(every):
            try:
                if not beat(self.kind, self.row_id, self.token):
                    log.warning("%s %s: this run no longer holds it", self.kind.noun, self.row_id)
                    return
            except Exception:  # noqa: BLE001 - a missed beat is retried; the work goes on
                log.exception("heartbeat of %s %s failed", self.kind.noun, self.row_id)

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
