"""DFER work on database rows: train, evaluate and pre-rank as job runners
`(params, progress) -> dict` (see workers/jobs.py). Ids in; each can run twice."""
from __future__ import annotations

import time
import uuid
from dataclasses import asdict
from pathlib import Path

from sqlmodel import delete, select

from app.benchmarks.models import BenchmarkResult, ModelCheckpoint, Prediction
from app.clips.models import Clip
from app.consensus.trusted import trusted_labels
from app.core.config import get_settings
from app.core.db import session_scope
from app.datasets.split import place_new_clips
from app.taxonomy.service import expression_names, scene_scenarios
from workers.dfer.data import Sample
from workers.dfer.labels import class_index

PRIOR = "prior"


def _samples(session, clips: list[Clip], labels: dict[int, str]) -> list[Sample]:
    root = get_settings().media_root
    scenes = scene_scenarios(session)
    out = []
    for c in clips:
        scene, scenario = scenes.get(c.scene_id, ("", ""))
        label = labels.get(c.id)
        out.append(Sample(clip_id=c.id, face_dir=root / c.face_dir, scene_dir=(root / c.scene_dir) if c.scene_dir else None,
                          label=class_index(label) if label else None, scene=scene, scenario=scenario))
    return out


def labelled_split(session, split: str) -> list[Sample]:
    """Clips with a trusted label in `split`: the clip's own split when it has
    one (e.g. FERV39k's official one), else a stable stratified split."""
    labels = trusted_labels(session)
    clips = list(session.exec(select(Clip).where(Clip.id.in_(list(labels)))).all()) if labels else []
    # Clips without a stored split are placed as a release would place them
    # (app/datasets/split.py), around the ones that have one.
    placed: dict[tuple, list[int]] = {}
    for c in clips:
        if c.split is not None:
            placed.setdefault((c.scene_id, labels[c.id]), [0, 0])[c.split == "test"] += 1
    auto = place_new_clips([(c.key, (c.scene_id, labels[c.id])) for c in clips if c.split is None],
                           placed={k: (v[0], v[1]) for k, v in placed.items()})
    chosen = [c for c in clips if (c.split or auto.get(c.key)) == split]
    return _samples(session, chosen, labels)


def release_split(session, name: str, split: str) -> list[Sample]:
    """The clips of release `name` in `split`, with the release's frozen labels."""
    from app.core.errors import NotFound
    from app.datasets.models import ReleaseClip
    from app.datasets.service import get_release

    try:
        release = get_release(session, name)
    except NotFound as exc:
        raise ValueError(exc.detail) from None
    pairs = session.exec(select(Clip, ReleaseClip.expression).join(ReleaseClip, ReleaseClip.clip_id == Clip.id)
                         .where(ReleaseClip.release_id == release.id, ReleaseClip.split == split)
                         .order_by(Clip.id)).all()
    return _samples(session, [c for c, _ in pairs], {c.id: e for c, e in pairs})


def _split_samples(session, params: dict, split: str) -> list[Sample]:
    release = params.get("release")
    return release_split(session, release, split) if release else labelled_split(session, split)


def run_train(params: dict, progress) -> dict:
    from workers.dfer.train import train

    release = params.get("release")
    with session_scope() as session:
        samples = _split_samples(session, params, params.get("split", "train"))
    if not samples:
        if release:
            raise ValueError(f"release '{release}' has no clip in its {params.get('split', 'train')} split")
        raise ValueError("no clip has a trusted label in the training split yet: label clips first "
                         "(or import FERV39k)")
    rel = Path("checkpoints") / f"{params['model']}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}.pt"
    out_path = get_settings().media_root / rel
    result = train(samples, model_name=params["model"], epochs=int(params.get("epochs", 1)),
                   batch_size=int(params.get("batch_size", 16)), lr=float(params.get("lr", 1e-3)),
                   device=params.get("device"), out_path=out_path, frames=int(params.get("frames", 16)),
                   size=params.get("size"),
                   progress=lambda p: progress(p.fraction, f"epoch {p.epoch}/{p.epochs}"))
    with session_scope() as session:
        ckpt = ModelCheckpoint(model_name=result.model_name, path=rel.as_posix(), epochs=result.epochs,
                               config=result.config, train_clips=result.train_clips, device=result.device,
                               seconds=result.seconds, release=release,
                               metrics={"history": [asdict(h) for h in result.history]})
        session.add(ckpt)
        session.flush()
        ckpt_id = ckpt.id
    last = result.history[-1] if result.history else None
    return {"checkpoint": ckpt_id, "model": result.model_name, "epochs": result.epochs, "release": release,
            "train_clips": result.train_clips, "device": result.device, "seconds": round(result.seconds, 2),
            "final_loss": round(last.loss, 4) if last else None}


def _checkpoint_path(session, checkpoint_id) -> tuple[str, int | None]:
    if checkpoint_id in (None, PRIOR, "prior"):
        return PRIOR, None
    ckpt = session.get(ModelCheckpoint, int(checkpoint_id))
    if ckpt is None:
        raise ValueError(f"checkpoint {checkpoint_id} does not exist")
    return str(get_settings().media_root / ckpt.path), ckpt.id


def _titled(names: list[str]):
    by_lower = {n.lower(): n for n in names}
    return lambda e: by_lower.get(e.lower(), e)


def run_evaluate(params: dict, progress) -> dict:
    from workers.dfer.evaluate import evaluate

    with session_scope() as session:
        path, ckpt_id = _checkpoint_path(session, params.get("checkpoint"))
        if ckpt_id is None:
            raise ValueError("evaluate needs a trained checkpoint id (the prior is not stored as one)")
        # A checkpoint trained on a release is measured on that release's test split.
        release = params.get("release") or session.get(ModelCheckpoint, ckpt_id).release
        samples = _split_samples(session, {"release": release}, params.get("split", "test"))
        title = _titled(expression_names(session))
    if not samples:
        raise ValueError(f"release '{release}' has no clip in its test split" if release
                         else "no clip has a trusted label in the test split")
    progress(0.05, "evaluating")
    res = evaluate(path, samples, device=params.get("device"))
    with session_scope() as session:
        session.exec(delete(BenchmarkResult).where(BenchmarkResult.checkpoint_id == ckpt_id))  # rerun replaces
        for row in res.rows():
            key = title(row.key) if row.scope == "class" else row.key
            session.add(BenchmarkResult(checkpoint_id=ckpt_id, scope=row.scope, key=key, war=row.war, uar=row.uar,
                                        n=row.n, confusion=row.confusion, release=release))
    return {"checkpoint": ckpt_id, "release": release, "war": res.war, "uar": res.uar, "n": res.n,
            "per_scenario": {k: {"war": s.war, "uar": s.uar, "n": s.n} for k, s in res.per_scenario.items()},
            "per_scene": {k: {"war": s.war, "uar": s.uar, "n": s.n} for k, s in res.per_scene.items()},
            "per_class": {title(k): v for k, v in res.per_class.items()}}


def run_prerank(params: dict, progress) -> dict:
    from workers.dfer.prerank import prerank

    t0 = time.perf_counter()
    with session_scope() as session:
        path, ckpt_id = _checkpoint_path(session, params.get("checkpoint"))
        q = select(Clip).order_by(Clip.id)
        if params.get("clip_ids"):
            q = q.where(Clip.id.in_(params["clip_ids"]))
        elif not params.get("all"):
            done = select(Prediction.clip_id).where(
                Prediction.checkpoint_id.is_(None) if ckpt_id is None else Prediction.checkpoint_id == ckpt_id)
            q = q.where(Clip.id.not_in(done))
        clips = list(session.exec(q).all())
        samples = _samples(session, clips, {})
        title = _titled(expression_names(session))
    batch = 256
    stored = 0
    for start in range(0, len(samples), batch):
        chunk = samples[start:start + batch]
        preds = prerank(path, chunk, device=params.get("device"), batch_size=int(params.get("batch_size", 32)))
        with session_scope() as session:
            ids = [p.clip_id for p in preds]
            cond = Prediction.checkpoint_id.is_(None) if ckpt_id is None else Prediction.checkpoint_id == ckpt_id
            session.exec(delete(Prediction).where(Prediction.clip_id.in_(ids), cond))  # rerun replaces
            rows = [Prediction(clip_id=p.clip_id, checkpoint_id=ckpt_id, model_name=p.model_name,
                               probs={title(k): float(v) for k, v in p.probs.items()},
                               ranking=[title(e) for e in p.ranking], top=title(p.top), entropy=float(p.entropy))
                    for p in preds]
            session.add_all(rows)
            session.flush()
            _flag_disagreements(session, rows)
        stored += len(preds)
        progress(stored / max(1, len(samples)), "pre-ranking")
    return {"clips": stored, "seconds": round(time.perf_counter() - t0, 2), "model": "prior" if ckpt_id is None else ckpt_id}


def _flag_disagreements(session, rows: list[Prediction]) -> None:
    """The consensus engine re-checks model disagreement on these clips."""
    from app.consensus.service import on_predictions

    on_predictions(session, rows)
