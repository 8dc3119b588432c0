"""The consensus JSON API: runs, a clip's live label, agreement, annotator
quality and FERV39k's batch rule."""
from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.consensus import quality, runs, service
from app.consensus.aggregators import DEFAULT_METHOD, available_aggregators
from app.core.deps import AdminUser, AdminWriter, ReviewerUser, SessionDep
from app.core.errors import Invalid
from app.core.types import Bool, Id, Int, Text
from app.jobs import service as jobs

router = APIRouter(prefix="/api/v1", tags=["consensus"])


class RunRequest(BaseModel):
    method: Text(40) = DEFAULT_METHOD
    # Run in the request (small databases, scripts); otherwise a job is queued.
    inline: Bool = False


def _method(name: str) -> str:
    name = name.strip().lower()
    if name not in available_aggregators():
        raise Invalid(f"Unknown method '{name}'; choose one of {', '.join(available_aggregators())}.")
    return name


@router.get("/consensus/runs")
def list_runs(session: SessionDep, _: ReviewerUser, limit: Int(1, 500) = 50) -> list[dict]:
    return [runs.run_public(r) for r in runs.list_runs(session, limit=limit)]


@router.post("/consensus/runs", status_code=202,
             responses={201: {"description": "inline: the finished run"}, 202: {"description": "a queued job"}})
def start_run(body: RunRequest, response: Response, session: SessionDep, user: AdminWriter) -> dict:
    method = _method(body.method)
    if body.inline:
        response.status_code = 201
        return runs.run_summary(session, runs.run_consensus(session, method=method))
    job = jobs.enqueue(session, kind="consensus", params={"method": method}, user_id=user.id)
    return {"job_id": job.id, "kind": job.kind, "status": job.status, "progress": job.progress}


@router.get("/consensus/runs/compare")
def compare(session: SessionDep, _: ReviewerUser, a: Id, b: Id) -> dict:
    return runs.compare_runs(session, a=a, b=b)


@router.get("/consensus/runs/{run_id}")
def get_run(run_id: Id, session: SessionDep, _: ReviewerUser, model: bool = False) -> dict:
    return runs.run_summary(session, runs.get_run(session, run_id), with_model=model)


@router.get("/consensus/status")
def status(session: SessionDep, _: ReviewerUser, campaign_id: Id | None = None) -> dict:
    return service.status_counts(session, campaign_id=campaign_id)


@router.get("/clips/{clip_id}/consensus")
def clip_consensus(clip_id: Id, session: SessionDep, _: ReviewerUser) -> dict:
    return service.clip_consensus(session, clip_id=clip_id)


@router.get("/consensus/agreement")
def agreement(session: SessionDep, _: ReviewerUser, campaign_id: Id | None = None) -> dict:
    return quality.agreement(session, campaign_id=campaign_id)


@router.get("/consensus/annotators")
def annotators(session: SessionDep, _: AdminUser, campaign_id: Id | None = None) -> list[dict]:
    return quality.annotators(session, campaign_id=campaign_id)


@router.post("/campaigns/{campaign_id}/batches/evaluate")
def evaluate_batch(campaign_id: Id, body: quality.BatchIn, session: SessionDep, user: AdminWriter) -> dict:
    return quality.evaluate_batch(session, campaign_id=campaign_id, data=body, by=user)
