"""The per-scene benchmark dashboard."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from app.benchmarks import service
from app.benchmarks.zoo import MODEL_NAMES
from app.core.deps import AdminPageWriter, PageUser, SessionDep
from app.core.templating import is_htmx, render, render_live
from app.core.types import Id, Int, Text
from app.jobs import service as jobs
from app.jobs.models import Job
from app.taxonomy.service import expression_names
from app.users.models import Role

router = APIRouter(include_in_schema=False)


def _recent_jobs(session) -> list[Job]:
    return list(session.exec(select(Job).where(Job.kind.in_(["train", "evaluate", "prerank"]))
                             .order_by(Job.id.desc()).limit(10)).all())


@router.get("/benchmarks")
def dashboard(request: Request, session: SessionDep, user: PageUser, a: Id | None = None, b: Id | None = None,
              release: Text(80) | None = None):
    from app.datasets.service import list_releases

    # Jobs are the admin's (their block is on the admin's part of the page).
    recent = _recent_jobs(session) if user.role == Role.admin else []
    busy = any(j.status in ("queued", "running") for j in recent)
    if is_htmx(request):  # a poll of the jobs table
        return render_live(request, "benchmarks/dashboard.html", {"jobs": recent, "busy": busy}, block="jobs",
                           busy=busy)
    release = release or None
    rows = service.all_summaries(session, release=release)
    by_id = {r["checkpoint"]: r for r in rows}
    evaluated = [r for r in rows if r["evaluated"]]
    focus = by_id.get(a) or (evaluated[-1] if evaluated else None)
    other = by_id.get(b) if b else None
    ctx = {"rows": rows, "columns": service.column_order(session), "focus": focus, "other": other,
           "expressions": expression_names(session), "models": MODEL_NAMES, "jobs": recent, "busy": busy,
           "release": release,
           "releases": sorted(set(service.release_names(session)) | {r.name for r in list_releases(session)}),
           "live_releases": [r.name for r in list_releases(session)]}
    return render(request, "benchmarks/dashboard.html", ctx)


@router.post("/benchmarks/train")
def train(session: SessionDep, user: AdminPageWriter, model: Annotated[Text(40), Form()],
          epochs: Annotated[Int(1, 1000), Form()] = 1, release: Annotated[Text(80), Form()] = ""):
    from app.datasets.service import list_releases

    release = release or None
    known = release is None or release in {r.name for r in list_releases(session)}
    if model in MODEL_NAMES and 1 <= epochs <= 1000 and known:
        jobs.enqueue(session, kind="train", params={"model": model, "epochs": epochs, "split": "train",
                                                    "release": release}, user_id=user.id)
    return RedirectResponse("/benchmarks", status_code=303)


@router.post("/benchmarks/{checkpoint_id}/evaluate")
def evaluate(checkpoint_id: Id, session: SessionDep, user: AdminPageWriter):
    service.get_checkpoint(session, checkpoint_id)
    jobs.enqueue(session, kind="evaluate", params={"checkpoint": checkpoint_id}, user_id=user.id)
    return RedirectResponse("/benchmarks", status_code=303)


@router.post("/benchmarks/prerank")
def prerank(session: SessionDep, user: AdminPageWriter, checkpoint: Annotated[Text(20), Form()] = "prior"):
    params = {"checkpoint": int(checkpoint) if checkpoint.isdigit() else "prior", "all": False}
    jobs.enqueue(session, kind="prerank", params=params, user_id=user.id)
    return RedirectResponse("/benchmarks", status_code=303)
