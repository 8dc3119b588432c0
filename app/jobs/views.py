"""The retry button of the job lists (benchmarks, consensus)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from app.core.deps import AdminPageWriter, SessionDep
from app.core.errors import DomainError
from app.core.types import Id
from app.jobs import service

router = APIRouter(include_in_schema=False)

# Where each kind of job is listed.
PAGES = {"train": "/benchmarks", "evaluate": "/benchmarks", "prerank": "/benchmarks", "consensus": "/admin/consensus"}


@router.post("/admin/jobs/{job_id}/retry")
def retry(job_id: Id, session: SessionDep, _: AdminPageWriter):
    job = service.get_job(session, job_id)
    try:
        service.retry_job(session, job_id=job_id)
    except DomainError:
        session.rollback()  # the list shows the job as it is: alive, done, or failed to send
    return RedirectResponse(PAGES.get(job.kind, "/admin"), status_code=303)
