"""The retry button of the job lists (benchmarks, consensus)."""
from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from app.core.deps import AdminPage, CsrfChecked, SessionDep
from app.core.errors import DomainError
from app.jobs import service

router = APIRouter(include_in_schema=False)

# Where each kind of job is listed.
PAGES = {"train": "/benchmarks", "evaluate": "/benchmarks", "prerank": "/benchmarks", "consensus": "/admin/consensus"}


@router.post("/admin/jobs/{job_id}/retry", dependencies=[CsrfChecked])
def retry(job_id: int, session: SessionDep, _: AdminPage):
    job = service.get_job(session, job_id)
    try:
        service.retry_job(session, job_id=job_id)
    except DomainError:
        session.rollback()  # the list shows the job as it is: alive, done, or failed to send
    return RedirectResponse(PAGES.get(job.kind, "/admin"), status_code=303)
