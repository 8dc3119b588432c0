"""Agreement and annotator quality from the database, and FERV39k's batch rule.

Agreement: Fleiss' κ and Krippendorff's α (nominal) over the expression votes,
overall, per scene and per expression (κ per category, Fleiss 1971).
Annotators: accuracy on gold, the reliability the current run estimated
(Dawid–Skene: Σ_k ρ_k π_kk, the class-prior-weighted confusion diagonal),
labels per hour and agreement with the live consensus.
"""
from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import sqlalchemy as sa
from pydantic import BaseModel, model_validator
from sqlmodel import Session, func, select

from app.clips.models import Clip
from app.consensus import service as live
from app.consensus.agreement import fleiss_kappa, kappa_per_category, krippendorff_alpha
from app.consensus.models import ConsensusLabel, ConsensusRun, LabelStatus
from app.consensus.policy import BatchAction, decide_batch
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound
from app.core.types import Float, Id, IdList
from app.jobs.models import Job, JobStatus
from app.labeling.dealer import get_campaign
from app.labeling.models import Annotation
from app.labeling.txn import write_transaction
from app.taxonomy.models import Scene
from app.users.models import User


def _flag_sql(flag: str):
    """`flag in Annotation.flags` as SQL on both dialects (JSON stored as text)."""
    return sa.cast(Annotation.flags, sa.String).like(f'%"{flag}"%')


def _counted():
    """Expression votes that count: not excluded by a batch decision."""
    return sa.and_(Annotation.expression.is_not(None), ~_flag_sql(live.EXCLUDED), ~_flag_sql(live.PASS))


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


# -- agreement ---------------------------------------------------------------------

def _block(counts: np.ndarray) -> dict:
    rated = counts[counts.sum(axis=1) >= 2] if counts.size else counts
    if rated.shape[0] == 0:
        return {"items": 0, "votes": int(counts.sum()) if counts.size else 0, "fleiss_kappa": None,
                "krippendorff_alpha": None}
    return {"items": int(rated.shape[0]), "votes": int(rated.sum()), "fleiss_kappa": _num(fleiss_kappa(rated)),
            "krippendorff_alpha": _num(krippendorff_alpha(rated))}


def agreement(session: Session, *, campaign_id: int | None = None) -> dict:
    """κ and α overall, per scene, and κ per expression (items with ≥ 2 votes)."""
    names = live.expression_names(session)
    col = {n: j for j, n in enumerate(names)}
    q = (select(Annotation.clip_id, Clip.scene_id, Annotation.expression, func.count())
         .join(Clip, Clip.id == Annotation.clip_id).where(_counted())
         .group_by(Annotation.clip_id, Clip.scene_id, Annotation.expression))
    if campaign_id is not None:
        q = q.where(Annotation.campaign_id == campaign_id)
    rows = [(c, s, e, n) for c, s, e, n in session.exec(q).all() if e in col]
    items = {c: i for i, c in enumerate(sorted({r[0] for r in rows}))}
    counts = np.zeros((len(items), len(names)))
    scene_of = np.zeros(len(items), dtype=np.int64)
    for c, s, e, n in rows:
        counts[items[c], col[e]] += n
        scene_of[items[c]] = s
    scenes = dict(session.exec(select(Scene.id, Scene.name)).all())
    per_scene = []
    for sid in sorted(set(scene_of.tolist())):
        block = _block(counts[scene_of == sid])
        if block["items"]:
            per_scene.append({"scene_id": sid, "scene": scenes.get(sid, str(sid)), **block})
    kappas = kappa_per_category(counts) if counts.size else np.full(len(names), np.nan)
    return {"overall": _block(counts), "per_scene": per_scene,
            "per_expression": [{"expression": n, "votes": int(counts[:, j].sum()) if counts.size else 0,
                                "fleiss_kappa": _num(kappas[j])} for j, n in enumerate(names)],
            "campaign_id": campaign_id}


# -- annotators -----------------------------------------------------------------------

def _reliability(model_state: dict) -> dict[str, float]:
    """worker name → Σ_k ρ_k π_kk from a run's exported parameters."""
    priors = np.asarray(model_state.get("priors") or [], dtype=float)
    out = {}
    for name, w in (model_state.get("workers") or {}).items():
        conf = np.asarray(w.get("confusion") or [], dtype=float)
        if priors.size and conf.shape == (priors.size, priors.size):
            out[name] = float(priors @ np.diag(conf))
    return out


def annotators(session: Session, *, campaign_id: int | None = None) -> list[dict]:
    """One row per annotator who voted (in the campaign when given)."""
    a = Annotation
    live_q = select(ConsensusLabel.clip_id, ConsensusLabel.label).where(
        ConsensusLabel.run_id.is_(None), ConsensusLabel.status == LabelStatus.trusted).subquery()
    q = (select(a.user_id, func.count(), func.sum(sa.case((_counted(), 1), else_=0)),
                func.sum(sa.case((_flag_sql(live.PASS), 1), else_=0)),
                func.sum(sa.case((sa.and_(a.expression.is_(None), _flag_sql("not_a_face")), 1), else_=0)),
                func.sum(sa.case((sa.and_(a.expression.is_(None), _flag_sql("bad_clip"), ~_flag_sql("not_a_face")),
                                  1), else_=0)),
                func.sum(sa.case((a.gold_correct.is_not(None), 1), else_=0)),
                func.sum(sa.case((a.gold_correct.is_(True), 1), else_=0)),
                func.sum(a.duration_ms), func.count(a.duration_ms), func.min(a.created_at), func.max(a.created_at),
                func.sum(sa.case((sa.and_(_counted(), live_q.c.label.is_not(None)), 1), else_=0)),
                func.sum(sa.case((sa.and_(_counted(), a.expression == live_q.c.label), 1), else_=0)))
         .outerjoin(live_q, live_q.c.clip_id == a.clip_id).group_by(a.user_id))
    if campaign_id is not None:
        q = q.where(a.campaign_id == campaign_id)
    rows = session.exec(q).all()
    emails = dict(session.exec(select(User.id, User.email).where(User.id.in_([r[0] for r in rows] or [-1]))).all())
    run = session.exec(select(ConsensusRun).where(ConsensusRun.is_current).order_by(ConsensusRun.id.desc())).first()
    reliability = _reliability(run.model_state or {}) if run is not None else {}
    out = []
    for (uid, total, votes, passes, not_face, bad_clip, gold_n, gold_ok, dur_sum, dur_n, first, last, judged,
         agree) in rows:
        hours = (int(dur_sum or 0) / 3.6e6) if dur_n else None
        if not hours and first is not None and last is not None and last > first:
            hours = (last - first).total_seconds() / 3600  # no timings sent: the span of their work
        out.append({
            "user_id": uid, "email": emails.get(uid), "responses": int(total), "votes": int(votes or 0),
            "passes": int(passes or 0), "not_a_face": int(not_face or 0),
            "bad_clip": int(bad_clip or 0), "gold_answered": int(gold_n or 0),
            "gold_correct": int(gold_ok or 0),
            "gold_accuracy": _num(int(gold_ok) / int(gold_n)) if gold_n else None,
            "reliability": _num(reliability[str(uid)]) if str(uid) in reliability else None,
            "agreement_with_consensus": _num(int(agree) / int(judged)) if judged else None,
            "labels_per_hour": _num(int(total) / hours) if hours else None,
            "first_at": first, "last_at": last,
        })
    out.sort(key=lambda r: (r["reliability"] is None, -(r["reliability"] or 0), r["user_id"]))
    return out


# -- the FERV39k batch rule ----------------------------------------------------------------

class BatchIn(BaseModel):
    """One annotator's batch in a campaign: their votes on `clip_ids`, and/or
    those cast in [since, until)."""

    user_id: Id
    clip_ids: IdList(10000) | None = None
    since: datetime | None = None
    until: datetime | None = None
    accept_at: Float(ge=0.0, le=1.0) = 0.8
    discard_below: Float(ge=0.0, le=1.0) = 0.4

    @model_validator(mode="after")
    def _bounds(self) -> "BatchIn":
        if self.clip_ids is None and self.since is None and self.until is None:
            raise ValueError("give clip_ids, or a time window (since/until), or both")
        if self.discard_below > self.accept_at:
            raise ValueError("discard_below must not exceed accept_at")
        return self


def evaluate_batch(session: Session, *, campaign_id: int, data: BatchIn, by: User) -> dict:
    """Judge a batch by its gold clips: accept; send its clips to expert
    review; or discard its votes (marked excluded, the clips dealt again).
    The decision is recorded as a finished Job of kind 'batch' (who, when,
    what) since no table holds batch decisions."""
    campaign = get_campaign(session, campaign_id)
    if session.get(User, data.user_id) is None:
        raise NotFound(f"User {data.user_id} does not exist.")
    q = select(Annotation).where(Annotation.campaign_id == campaign.id, Annotation.user_id == data.user_id)
    if data.clip_ids is not None:
        q = q.where(Annotation.clip_id.in_(data.clip_ids or [-1]))
    if data.since is not None:
        q = q.where(Annotation.created_at >= data.since)
    if data.until is not None:
        q = q.where(Annotation.created_at < data.until)
    anns = [x for x in session.exec(q.order_by(Annotation.id)).all() if live.EXCLUDED not in (x.flags or [])]
    if not anns:
        raise Invalid("No votes of this annotator match the batch (or they were all discarded already).")
    graded = [x for x in anns if x.is_gold and x.gold_correct is not None]
    d = decide_batch(sum(bool(x.gold_correct) for x in graded), len(graded), accept_at=data.accept_at,
                     discard_below=data.discard_below)
    ordinary = sorted({x.clip_id for x in anns if not x.is_gold})
    with write_transaction(session):
        if d.action == BatchAction.EXPERT_REVIEW:
            for clip_id in ordinary:
                row = live.live_label(session, clip_id, for_update=True)
                flags = list(row.flags or []) if row is not None else []
                if row is None or live.BATCH_REVIEW not in flags:
                    row = row or ConsensusLabel(run_id=None, clip_id=clip_id)
                    row.flags = flags + [live.BATCH_REVIEW]
                    session.add(row)
                    session.flush()
                live.refresh_clip(session, clip_id=clip_id, campaign=campaign)
        elif d.action == BatchAction.DISCARD:
            for x in anns:
                x.flags = list(x.flags or []) + [live.EXCLUDED]
                session.add(x)
            session.flush()
            for clip_id in ordinary:
                live.on_retract(session, clip_id=clip_id, campaign=campaign)
        result = {"action": d.action.value, "accuracy": d.accuracy, "gold_correct": d.gold_correct,
                  "gold_total": d.gold_total, "reason": d.reason, "votes": len(anns), "clips": len(ordinary),
                  "excluded": len(anns) if d.action == BatchAction.DISCARD else 0,
                  "to_review": len(ordinary) if d.action == BatchAction.EXPERT_REVIEW else 0}
        params = {"campaign_id": campaign.id, **data.model_dump(mode="json")}
        job = Job(kind="batch", params=params, status=JobStatus.done, progress=1.0, result=result,
                  created_by_id=by.id, finished_at=utcnow())
        session.add(job)
        session.flush()
        result["decision_id"] = job.id
    return result
