"""Checkpoints, benchmark results and predictions, as the web shows them."""
from __future__ import annotations

from sqlmodel import Session, select

from app.benchmarks.models import BenchmarkResult, ModelCheckpoint, Prediction
from app.core.errors import NotFound
from app.taxonomy.models import Scenario, Scene


def get_checkpoint(session: Session, checkpoint_id: int) -> ModelCheckpoint:
    ckpt = session.get(ModelCheckpoint, checkpoint_id)
    if ckpt is None:
        raise NotFound(f"Checkpoint {checkpoint_id} does not exist.")
    return ckpt


def list_checkpoints(session: Session) -> list[ModelCheckpoint]:
    return list(session.exec(select(ModelCheckpoint).order_by(ModelCheckpoint.id)).all())


def results_for(session: Session, checkpoint_id: int) -> list[BenchmarkResult]:
    return list(session.exec(select(BenchmarkResult).where(BenchmarkResult.checkpoint_id == checkpoint_id)
                             .order_by(BenchmarkResult.id)).all())


def summary(session: Session, checkpoint: ModelCheckpoint) -> dict:
    """{"checkpoint", "model", "war", "uar", "per_scenario", "per_scene", "per_class", "confusion"}."""
    out = {"checkpoint": checkpoint.id, "model": checkpoint.model_name, "epochs": checkpoint.epochs,
           "train_clips": checkpoint.train_clips, "device": checkpoint.device, "release": checkpoint.release,
           "evaluated_on": None, "war": None, "uar": None, "n": 0,
           "per_scenario": {}, "per_scene": {}, "per_class": {}, "confusion": [], "evaluated": False}
    for r in results_for(session, checkpoint.id):
        cell = {"war": r.war, "uar": r.uar, "n": r.n}
        if r.scope == "all":
            out.update(war=r.war, uar=r.uar, n=r.n, confusion=r.confusion, evaluated=True, evaluated_on=r.release)
        elif r.scope == "scenario":
            out["per_scenario"][r.key] = cell
        elif r.scope == "scene":
            out["per_scene"][r.key] = cell
        elif r.scope == "class":
            out["per_class"][r.key] = r.war
    return out


def all_summaries(session: Session, *, release: str | None = None) -> list[dict]:
    """Every checkpoint; with `release`, those trained or measured on it."""
    rows = [summary(session, c) for c in list_checkpoints(session)]
    if release is not None:
        rows = [r for r in rows if release in (r["release"], r["evaluated_on"])]
    return rows


def release_names(session: Session) -> list[str]:
    """Releases that checkpoints name (also ones deleted since), for the filter."""
    names = set(session.exec(select(ModelCheckpoint.release).where(ModelCheckpoint.release.is_not(None))).all())
    names |= set(session.exec(select(BenchmarkResult.release).where(BenchmarkResult.release.is_not(None))).all())
    return sorted(names)


def column_order(session: Session) -> list[tuple[str, list[str]]]:
    """[(scenario, [scenes…])] in taxonomy order, for the dashboard's columns."""
    scenarios = session.exec(select(Scenario).order_by(Scenario.position, Scenario.id)).all()
    scenes = session.exec(select(Scene).order_by(Scene.position, Scene.id)).all()
    return [(s.name, [sc.name for sc in scenes if sc.scenario_id == s.id]) for s in scenarios]


def latest_predictions(session: Session, clip_id: int) -> list[Prediction]:
    """Newest first, one per model (checkpoint or prior)."""
    rows = session.exec(select(Prediction).where(Prediction.clip_id == clip_id)
                        .order_by(Prediction.created_at.desc(), Prediction.id.desc())).all()
    seen, out = set(), []
    for p in rows:
        if p.checkpoint_id not in seen:
            seen.add(p.checkpoint_id)
            out.append(p)
    return out


def prediction_public(p: Prediction) -> dict:
    return {"model": p.model_name, "checkpoint_id": p.checkpoint_id, "top": p.top, "entropy": p.entropy,
            "ranking": [{"expression": e, "p": p.probs.get(e, 0.0)} for e in p.ranking], "created_at": p.created_at}
