"""Retrying failed or stuck jobs (JSON API)."""
from __future__ import annotations

from fastapi import APIRouter

from app.core.deps import AdminWriter, SessionDep
from app.core.types import Id
from app.jobs import service

router = APIRouter(prefix="/api/v1", tags=["jobs"])


def to_public(job) -> dict:
    return {"job_id": job.id, "kind": job.kind, "status": job.status, "progress": job.progress,
            "result": job.result, "error": job.error, "attempts": job.attempts}


@router.post("/jobs/{job_id}/retry", status_code=202)
def retry_job(job_id: Id, session: SessionDep, _: AdminWriter) -> dict:
    """Run a failed job, or one whose worker stopped, again: 409 while it is
    alive or done, 503 (Retry-After) while the broker is down."""
    return to_public(service.retry_job(session, job_id=job_id))
