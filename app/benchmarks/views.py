"""The per-scene benchmark dashboard."""
from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse
from sqlmodel import select

from app.benchmarks import service
from app.benchmarks.zoo import MODEL_NAMES
from app.core.deps import AdminPage, CsrfChecked, PageUser, SessionDep
from app.core.templating import is_htmx, render
from app.jobs import service as jobs
from app.jobs.models import Job
from app.taxonomy.service import expression_names

router = APIRouter(include_in_schema=False)


def _recent_jobs(session) -> list[Job]:
    return list(session.exec(select(Job).where(Job.kind.in_(["train", "evaluate", "prerank"]))
                             .order_by(Job.id.desc()).limit(10)).all())


@router.get("/benchmarks")
def dashboard(request: Request, session: SessionDep, _: PageUser, a: int | None = None, b: int | None = None,
              release: str | None = Query(None, max_length=80)):
    from app.datasets.service import list_releases

    release = release or None
    rows = service.all_summaries(session, release=release)
    by_id = {r["checkpoint"]: r for r in rows}
    evaluated = [r for r in rows if r["evaluated"]]
    focus = by_id.get(a) or (evaluated[-1] if evaluated else None)
    other = by_id.get(b) if b else None
    recent = _recent_jobs(session)
    ctx = {"rows": rows, "columns": service.column_order(session), "focus": focus, "other": other,
           "expressions": expression_names(session), "models": MODEL_NAMES, "jobs": recent,
           "busy": any(j.status in ("queued", "running") for j in recent), "release": release,
           "releases": sorted(set(service.release_names(session)) | {r.name for r in list_releases(session)}),
           "live_releases": [r.name for r in list_releases(session)]}
    return render(request, "benchmarks/dashboard.html", ctx, block="jobs" if is_htmx(request) else None)


@router.post("/benchmarks/train", dependencies=[CsrfChecked])
def train(session: SessionDep, user: AdminPage, model: str = Form(...), epochs: int = Form(1),
          release: str = Form("", max_length=80)):
    from app.datasets.service import list_releases

    release = release or None
    known = release is None or release in {r.name for r in list_releases(session)}
    if model in MODEL_NAMES and 1 <= epochs <= 1000 and known:
        jobs.enqueue(session, kind="train", params={"model": model, "epochs": epochs, "split": "train",
                                                    "release": release}, user_id=user.id)
    return RedirectResponse("/benchmarks", status_code=303)


@router.post("/benchmarks/{checkpoint_id}/evaluate", dependencies=[CsrfChecked])
def evaluate(checkpoint_id: int, session: SessionDep, user: AdminPage):
    service.get_checkpoint(session, checkpoint_id)
    jobs.enqueue(session, kind="evaluate", params={"checkpoint": checkpoint_id}, user_id=user.id)
    return RedirectResponse("/benchmarks", status_code=303)


@router.post("/benchmarks/prerank", dependencies=[CsrfChecked])
def prerank(session: SessionDep, user: AdminPage, checkpoint: str = Form("prior")):
    params = {"checkpoint": int(checkpoint) if checkpoint.isdigit() else "prior", "all": False}
    jobs.enqueue(session, kind="prerank", params=params, user_id=user.id)
    return RedirectResponse("/benchmarks", status_code=303)
