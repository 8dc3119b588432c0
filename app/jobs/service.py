"""Jobs: create the record, commit, and only then enqueue (a worker must
never receive an id whose row it cannot see yet)."""
from __future__ import annotations

import time

from sqlmodel import Session

from app.core.config import get_settings
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


def publish(task: str, args: list, *, queue: str) -> None:
    """Send one task, failing fast: no publish retries and no result
    subscription (rows carry the outcome), so a dead broker costs at most
    FERVLAB_BROKER_CONNECT_TIMEOUT_S. Raises whatever the broker client raised."""
    from workers.celery_app import celery_app

    celery_app.send_task(task, args=args, queue=queue, retry=False, ignore_result=True)


def broker_down(what: str, exc: Exception, retry_path: str) -> Unavailable:
    return Unavailable(f"The task broker is unreachable ({type(exc).__name__}): {what} was not started. "
                       f"Retry with POST {retry_path} once it is back.",
                       retry_after=get_settings().broker_retry_after_s)


def send(session: Session, job: Job) -> None:
    """Hand a committed job to the broker. If the broker cannot take it the
    job is marked failed (never left queued with no message) and Unavailable
    (503) is raised."""
    job.attempts += 1
    job.heartbeat_at = utcnow()  # a queued row's heartbeat is its last send
    session.add(job)
    session.commit()
    try:
        publish("fervlab.run_job", [job.id], queue=QUEUES.get(job.kind, "cpu"))
    except Exception as exc:  # noqa: BLE001 - the broker being down is a user-facing condition
        err = broker_down(f"job {job.id}", exc, f"/api/v1/jobs/{job.id}/retry")
        mark(session, job, status=JobStatus.failed, error=err.detail)
        raise err from exc


def enqueue(session: Session, *, kind: str, params: dict, user_id: int | None = None) -> Job:
    job = create_job(session, kind=kind, params=params, user_id=user_id)
    send(session, job)
    return job


def retry_job(session: Session, *, job_id: int) -> Job:
    """Run a failed or stuck job again (from the start)."""
    from app.jobs.liveness import JOBS, check_retryable

    job = get_job(session, job_id)
    check_retryable(JOBS, job, when_done=f"Job {job_id} is done; start a new {job.kind} job instead.")
    job.status, job.error, job.progress, job.result = JobStatus.queued, None, 0.0, {}
    job.run_token, job.finished_at, job.attempts = None, None, 0
    send(session, job)
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
        job.run_token = None
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
