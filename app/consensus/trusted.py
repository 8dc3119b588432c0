"""The label a clip is trusted with, from whichever source is strongest:
an expert review, then a trusted consensus, then a label imported with the
clip (e.g. FERV39k's own)."""
from __future__ import annotations

from sqlmodel import Session, select

from app.clips.models import Clip
from app.consensus.models import ConsensusLabel, LabelStatus
from app.review.models import Review, ReviewDecision


def trusted_labels(session: Session, clip_ids: list[int] | None = None) -> dict[int, str]:
    """clip id → expression name for every clip with a trusted label; clips
    rejected by a reviewer are left out."""
    out: dict[int, str] = {}
    q = select(Clip.id, Clip.source_label).where(Clip.source_label.is_not(None))
    if clip_ids is not None:
        q = q.where(Clip.id.in_(clip_ids))
    out.update({cid: label for cid, label in session.exec(q).all()})
    q = select(ConsensusLabel.clip_id, ConsensusLabel.label).where(
        ConsensusLabel.run_id.is_(None), ConsensusLabel.status == LabelStatus.trusted,
        ConsensusLabel.label.is_not(None))
    if clip_ids is not None:
        q = q.where(ConsensusLabel.clip_id.in_(clip_ids))
    out.update({cid: label for cid, label in session.exec(q).all()})
    q = select(Review.clip_id, Review.decision, Review.expression).order_by(Review.created_at, Review.id)
    if clip_ids is not None:
        q = q.where(Review.clip_id.in_(clip_ids))
    for cid, decision, expression in session.exec(q).all():  # the newest review wins
        if decision == ReviewDecision.reject:
            out.pop(cid, None)
        elif expression:
            out[cid] = expression
    return out
