"""The admin's consensus page: runs, the run button, live status counts,
agreement and the annotator table."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from app.consensus import quality, runs, service
from app.consensus.aggregators import DEFAULT_METHOD, available_aggregators
from app.core.deps import AdminPage, AdminPageWriter, SessionDep
from app.core.errors import DomainError
from app.core.templating import is_htmx, render, render_live
from app.core.types import Id, Text
from app.jobs import service as jobs
from app.jobs.models import Job

router = APIRouter(include_in_schema=False)


def _recent_jobs(session) -> list[Job]:
    return list(session.exec(select(Job).where(Job.kind.in_(["consensus", "batch"]))
                             .order_by(Job.id.desc()).limit(8)).all())


@router.get("/admin/consensus")
def consensus_page(request: Request, session: SessionDep, _: AdminPage, a: Id | None = None, b: Id | None = None,
                   campaign_id: Id | None = None):
    recent = _recent_jobs(session)
    busy = any(j.kind == "consensus" and j.status in ("queued", "running") for j in recent)
    ctx = {"jobs": recent, "busy": busy}
    if is_htmx(request):  # a poll of the jobs line
        return render_live(request, "consensus/admin.html", ctx, block="jobs", busy=busy)
    comparison, error = None, None
    if a and b:
        try:
            comparison = runs.compare_runs(session, a=a, b=b, sample=20)
        except DomainError as exc:
            error = exc.detail
    ctx.update({"runs": [runs.run_public(r) for r in runs.list_runs(session, limit=30)],
                "counts": service.status_counts(session, campaign_id=campaign_id),
                "agreement": quality.agreement(session, campaign_id=campaign_id),
                "annotators": quality.annotators(session, campaign_id=campaign_id),
                "methods": available_aggregators(), "default_method": DEFAULT_METHOD,
                "comparison": comparison, "error": error, "a": a, "b": b})
    return render(request, "consensus/admin.html", ctx)


@router.post("/admin/consensus/runs")
def start_run(session: SessionDep, user: AdminPageWriter, method: Annotated[Text(40), Form()] = DEFAULT_METHOD):
    if method in available_aggregators():
        jobs.enqueue(session, kind="consensus", params={"method": method}, user_id=user.id)
    return RedirectResponse("/admin/consensus", status_code=303)
