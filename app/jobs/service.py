"""Jobs: create the record, commit, and only then enqueue (a worker must
never receive an id whose row it cannot see yet)."""
from __future__ import annotations

import time

from sqlmodel import Session

from app.core.db import utcnow
from app.core.errors import NotFound, Unavailable
from app.jobs.models import Job, JobStatus

# Which queue each kind of job runs on.
QUEUES = {"ingest": "cpu", "consensus": "cpu", "train": "gpu", "evaluate": "gpu", "prerank": "gpu"}


def create_job(session: Session, *, kind: str, params: dict, user_id: int | None = None) -> Job:
    job = Job(kind=kind, params=params, created_by_id=user_id)
    session.add(job)
    session.commit()
    session.refresh(job)
    return job


def send(job: Job) -> None:
    """Hand a committed job to the broker."""
    from workers.celery_app import celery_app

    try:
        celery_app.send_task("fervlab.run_job", args=[job.id], queue=QUEUES.get(job.kind, "cpu"))
    except Exception as exc:  # noqa: BLE001 - the broker being down is a user-facing condition
        raise Unavailable(f"Could not reach the task broker ({type(exc).__name__}); job {job.id} stays queued.") from exc


def enqueue(session: Session, *, kind: str, params: dict, user_id: int | None = None) -> Job:
    job = create_job(session, kind=kind, params=params, user_id=user_id)
    send(job)
    return job


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"Job {job_id} does not exist.")
    return job


def mark(session: Session, job: Job, *, status: JobStatus, result: dict | None = None,
         error: str | None = None, progress: float | None = None) -> None:
    job.status = status
    if result is not None:
        job.result = result
    if error is not None:
        job.error = error[:2000]
    if progress is not None:
        job.progress = progress
    if status in (JobStatus.done, JobStatus.failed):
        job.finished_at = utcnow()
    session.add(job)
    session.commit()


def wait(session: Session, job_id: int, *, timeout_s: float = 3600, poll_s: float = 0.5) -> Job:
    deadline = time.monotonic() + timeout_s
    while True:
        # A short transaction per look, closed before sleeping: on SQLite an
        # open one holds the write lock the worker needs to record progress.
        session.rollback()
        job = get_job(session, job_id)
        session.expunge(job)  # keep the values just read
        session.rollback()
        if job.status in (JobStatus.done, JobStatus.failed) or time.monotonic() > deadline:
            return job
        time.sleep(poll_s)
