"""Expert review: the queue of clips the crowd could not settle, and the
reviewer's decision, which overrides the consensus and closes the clip."""
from __future__ import annotations

from typing import Literal

import sqlalchemy as sa
from pydantic import BaseModel, model_validator
from sqlmodel import Session, func, select

from app.clips.models import Clip
from app.consensus import service as consensus
from app.consensus.models import ConsensusLabel, LabelStatus
from app.core.errors import NotFound
from app.core.types import Text
from app.labeling.dealer import media_url
from app.labeling.taxonomy_cache import check
from app.labeling.txn import write_transaction
from app.review.models import Review, ReviewDecision
from app.taxonomy.models import Scene
from app.users.models import User


class ReviewIn(BaseModel):
    decision: Literal["label", "reject"]
    expression: Text(40) | None = None
    reason: Text(1000) = ""

    @model_validator(mode="after")
    def _consistent(self) -> "ReviewIn":
        self.reason = self.reason.strip()
        self.expression = (self.expression or "").strip() or None
        if self.decision == "label" and self.expression is None:
            raise ValueError("a 'label' decision needs its expression")
        if self.decision == "reject":
            if self.expression is not None:
                raise ValueError("a rejected clip has no expression")
            if not self.reason:
                raise ValueError("say why the clip is rejected (reason)")
        return self


def _unreviewed():
    return ~sa.exists().where(Review.clip_id == ConsensusLabel.clip_id)


def _queue_filter(include_flagged: bool):
    needs = ConsensusLabel.status == LabelStatus.review
    if include_flagged:
        # Flags are a JSON list: anything but the empty one. Rejected clips
        # are settled; trusted ones with a flag are worth a second look.
        flagged = sa.and_(sa.cast(ConsensusLabel.flags, sa.String).not_in(["[]", ""]),
                          ConsensusLabel.status != LabelStatus.rejected)
        needs = sa.or_(needs, flagged)
    return sa.and_(ConsensusLabel.run_id.is_(None), needs, _unreviewed())


def queue_size(session: Session, *, include_flagged: bool = True) -> int:
    return int(session.exec(select(func.count()).select_from(ConsensusLabel)
                            .where(_queue_filter(include_flagged))).one())


def queue(session: Session, *, limit: int = 20, offset: int = 0, include_flagged: bool = True) -> list[dict]:
    """Clips waiting for an expert: status review first, then flagged ones,
    oldest first within each."""
    rows = session.exec(select(ConsensusLabel).where(_queue_filter(include_flagged)).order_by(
        sa.case((ConsensusLabel.status == LabelStatus.review, 0), else_=1), ConsensusLabel.updated_at,
        ConsensusLabel.id).offset(offset).limit(limit)).all()
    ids = [r.clip_id for r in rows]
    clips = {c.id: c for c in session.exec(select(Clip).where(Clip.id.in_(ids or [-1]))).all()}
    scenes = dict(session.exec(select(Scene.id, Scene.name)).all())
    tallies = consensus.tallies(session, ids)
    out = []
    for r in rows:
        clip = clips.get(r.clip_id)
        pred = consensus.latest_prediction(session, r.clip_id)
        probs = consensus.canonical(session, pred.probs) if pred else None
        t = tallies[r.clip_id]
        out.append({
            "clip_id": r.clip_id, "key": clip.key if clip else None,
            "scene": scenes.get(clip.scene_id) if clip else None, "status": LabelStatus(r.status).value,
            "label": r.label, "confidence": r.confidence, "posterior": r.posterior or {},
            "histogram": dict(sorted(t.histogram.items(), key=lambda kv: -kv[1])), "votes": t.responses,
            "passes": t.passes, "not_a_face": t.not_face - t.bad_clip, "bad_clip": t.bad_clip, "flags": list(r.flags or []),
            "ranking": ([{"expression": e, "p": round(p, 4)} for e, p in sorted(probs.items(), key=lambda kv: -kv[1])]
                        if probs else None),
            "model_probs": probs, "model": pred.model_name if pred else None, "preview_url": media_url(r.clip_id),
        })
    return out


def review_public(review: Review) -> dict:
    return {"id": review.id, "clip_id": review.clip_id, "reviewer_id": review.reviewer_id,
            "decision": ReviewDecision(review.decision).value, "expression": review.expression,
            "reason": review.reason, "created_at": review.created_at}


def decide(session: Session, *, clip_id: int, reviewer: User, data: ReviewIn) -> Review:
    """Record the expert's decision (who, when, why); the live label follows
    it (trusted with their label, or rejected) and the clip is dealt no more."""
    if session.get(Clip, clip_id) is None:
        raise NotFound(f"Clip {clip_id} does not exist.")
    expression = check(session, data.expression)[0] if data.expression else None
    with write_transaction(session):
        review = Review(clip_id=clip_id, reviewer_id=reviewer.id, decision=ReviewDecision(data.decision),
                        expression=expression, reason=data.reason)
        session.add(review)
        session.flush()
        consensus.apply_review(session, review=review)
    return review


def reviews_of(session: Session, *, clip_id: int) -> list[Review]:
    return list(session.exec(select(Review).where(Review.clip_id == clip_id)
                             .order_by(Review.created_at.desc(), Review.id.desc())).all())
