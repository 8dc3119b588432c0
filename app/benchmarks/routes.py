from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.benchmarks import service
from app.benchmarks.zoo import MODEL_NAMES
from app.clips import service as clips
from app.core.deps import AdminUser, AdminWriter, CurrentUser, ReviewerUser, SessionDep
from app.core.types import Bool, Float, Id, Int, Text
from app.jobs import service as jobs

router = APIRouter(prefix="/api/v1", tags=["models"])


class TrainRequest(BaseModel):
    model: Literal[tuple(MODEL_NAMES)]
    epochs: Int(1, 1000) = 1
    batch_size: Int(1, 4096) = 16
    lr: Float(gt=0, le=10) = 1e-3
    device: Literal["cpu", "cuda"] | None = None
    release: Text(80) | None = Field(None, description="Train on this dataset release.")


class PrerankRequest(BaseModel):
    checkpoint: Id | None = None  # None: the pretrained prior
    all: Bool = False


@router.get("/benchmarks")
def benchmarks(session: SessionDep, _: CurrentUser, release: Text(80) | None = None) -> list[dict]:
    """Every checkpoint with WAR/UAR overall, per scenario, per scene and per expression
    (with `release`: only those trained or measured on that dataset release)."""
    return service.all_summaries(session, release=release)


@router.get("/checkpoints/{checkpoint_id}")
def checkpoint(checkpoint_id: Id, session: SessionDep, _: CurrentUser) -> dict:
    c = service.get_checkpoint(session, checkpoint_id)
    return {"id": c.id, "model": c.model_name, "epochs": c.epochs, "train_clips": c.train_clips, "device": c.device,
            "seconds": c.seconds, "created_at": c.created_at, "metrics": c.metrics,
            "benchmark": service.summary(session, c)}


@router.get("/clips/{clip_id}/predictions")
def predictions(clip_id: Id, session: SessionDep, _: ReviewerUser) -> list[dict]:
    clips.get_clip(session, clip_id)
    return [service.prediction_public(p) for p in service.latest_predictions(session, clip_id)]


def _job(job) -> dict:
    return {"job_id": job.id, "kind": job.kind, "status": job.status, "progress": job.progress,
            "result": job.result, "error": job.error}


@router.post("/models/train", status_code=202)
def train(body: TrainRequest, session: SessionDep, user: AdminWriter) -> dict:
    if body.release is not None:
        from app.datasets.service import get_release

        get_release(session, body.release)  # 404 with its name before a job is queued
    return _job(jobs.enqueue(session, kind="train", params={**body.model_dump(), "split": "train"}, user_id=user.id))


@router.post("/checkpoints/{checkpoint_id}/evaluate", status_code=202)
def evaluate(checkpoint_id: Id, session: SessionDep, user: AdminWriter) -> dict:
    service.get_checkpoint(session, checkpoint_id)
    return _job(jobs.enqueue(session, kind="evaluate", params={"checkpoint": checkpoint_id}, user_id=user.id))


@router.post("/prerank", status_code=202)
def prerank(body: PrerankRequest, session: SessionDep, user: AdminWriter) -> dict:
    if body.checkpoint is not None:
        service.get_checkpoint(session, body.checkpoint)
    params = {"checkpoint": body.checkpoint if body.checkpoint is not None else "prior", "all": body.all}
    return _job(jobs.enqueue(session, kind="prerank", params=params, user_id=user.id))


@router.get("/jobs/{job_id}")
def job(job_id: Id, session: SessionDep, _: AdminUser) -> dict:
    return _job(jobs.get_job(session, job_id))
