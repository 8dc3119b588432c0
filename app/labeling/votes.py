"""Annotations: a vote on a leased clip, and its undo while the lease lasts.

Both run in one transaction with the pool counters, the annotator's gold
record and the consensus hook, so a vote is counted everywhere or nowhere.
Lock order (as in the dealer): member row, then assignment, then pool row.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.clips.models import GoldAnswer
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.labeling import dealer, pool, quality
from app.labeling.models import (Annotation, AnnotationCreate, Assignment, AssignmentStatus, Campaign,
                                 CampaignClip, CampaignMember)
from app.labeling.taxonomy_cache import check
from app.labeling.txn import write_transaction
from app.users.models import User

FLAGS = ("pass", "not_a_face", "bad_clip")
# A pass is no vote: the annotator skips the clip and its slot goes to someone
# else (done is not counted). not_a_face / bad_clip are votes about the clip.
PASS = "pass"


def consensus_hook(name: str):
    """`app.consensus.service.<name>`, or None while that module or function
    does not exist yet (it is written separately)."""
    try:
        module = import_module("app.consensus.service")
    except ModuleNotFoundError as exc:
        if exc.name not in ("app.consensus.service",):
            raise
        return None
    return getattr(module, name, None)


def _clean(session: Session, data: AnnotationCreate) -> tuple[str | None, str | None, list[str]]:
    flags = []
    for f in data.flags:
        f = str(f).strip().lower()
        if f not in FLAGS:
            raise Invalid(f"'{f}' is not a flag; use {', '.join(FLAGS)}.")
        if f not in flags:
            flags.append(f)
    expression = (data.expression or "").strip() or None
    descriptor = (data.descriptor or "").strip() or None
    if expression is None:
        if descriptor is not None:
            raise Invalid("A descriptor needs its expression.")
        if not flags:
            raise Invalid("Choose an expression, or flag the clip (pass, not_a_face, bad_clip).")
        return None, None, flags
    if PASS in flags:
        raise Invalid("A passed clip has no expression: send one or the other.")
    expression, descriptor = check(session, expression, descriptor)
    return expression, descriptor, flags


def _lease_of(session: Session, *, user: User, assignment_id: int) -> Assignment:
    lease = session.get(Assignment, assignment_id)
    # Someone else's lease reads as missing: ids of others' work are not ours to probe.
    if lease is None or lease.user_id != user.id:
        raise NotFound(f"Assignment {assignment_id} does not exist or is not yours.")
    return lease


def _existing(session: Session, assignment_id: int) -> Annotation | None:
    return session.exec(select(Annotation).where(Annotation.assignment_id == assignment_id)).first()


def _expired(lease: Assignment) -> Conflict:
    return Conflict(f"Your time on this clip ran out at {lease.expires_at:%H:%M:%S} UTC and it went back to the "
                    "pool; the label was not saved. Fetch the next clip.")


def submit(session: Session, *, user: User, data: AnnotationCreate) -> tuple[Annotation, bool, CampaignMember]:
    """Record a vote. Returns (annotation, created, member); a retry of the
    same assignment returns the first record with created False."""
    lease = _lease_of(session, user=user, assignment_id=data.assignment_id)
    first = _existing(session, lease.id)
    if first is not None:
        return first, False, _member(session, lease)
    expression, descriptor, flags = _clean(session, data)
    now = utcnow()
    if lease.status != AssignmentStatus.active or lease.expires_at <= now:
        raise _expired(lease)
    campaign = dealer.get_campaign(session, lease.campaign_id)
    lost = False
    with write_transaction(session):
        member = quality.member_for_update(session, campaign=campaign, user_id=user.id)
        done = session.execute(sa.update(Assignment).where(
            Assignment.id == lease.id, Assignment.status == AssignmentStatus.active, Assignment.expires_at > now,
        ).values(status=AssignmentStatus.done, completed_at=now))
        if done.rowcount != 1:
            lost = True  # a retry or the expiry sweep got there first
        else:
            ann = _record(session, campaign=campaign, member=member, lease=lease, now=now, expression=expression,
                          descriptor=descriptor, flags=flags, duration_ms=data.duration_ms)
    if lost:
        first = _existing(session, lease.id)
        if first is not None:
            return first, False, _member(session, lease)
        session.refresh(lease)
        raise _expired(lease)
    return ann, True, member


def _record(session: Session, *, campaign: Campaign, member: CampaignMember, lease: Assignment, now, expression,
            descriptor, flags, duration_ms) -> Annotation:
    vote = PASS not in flags
    cc = _pool_row(session, lease)
    cc.active = max(0, cc.active - 1)
    cc.done += int(vote)
    cc.priority = pool.pool_priority(cc, overlap=campaign.overlap)
    session.add(cc)

    gold_correct = None
    if lease.is_gold and vote:
        answer = session.exec(select(GoldAnswer.expression).where(GoldAnswer.clip_id == lease.clip_id)).first()
        if answer is not None:
            gold_correct = expression is not None and expression.lower() == answer.lower()
            was_paused = member.paused
            quality.record_gold(campaign, member, correct=gold_correct)
            if member.paused and not was_paused:
                # Paused: the clips they still hold go back at the next sweep.
                session.execute(sa.update(Assignment).where(
                    Assignment.user_id == member.user_id, Assignment.campaign_id == campaign.id,
                    Assignment.status == AssignmentStatus.active, Assignment.id != lease.id,
                ).values(expires_at=now))
    member.labels += int(vote)
    member.updated_at = now
    session.add(member)

    ann = Annotation(assignment_id=lease.id, campaign_id=campaign.id, clip_id=lease.clip_id, user_id=member.user_id,
                     expression=expression, descriptor=descriptor, flags=flags, duration_ms=duration_ms,
                     assisted=dealer.had_ranking(session, campaign=campaign, assignment=lease),
                     is_gold=lease.is_gold, gold_correct=gold_correct, created_at=now)
    session.add(ann)
    session.flush()
    hook = consensus_hook("on_annotation")
    if hook is not None:
        hook(session, annotation=ann, campaign=campaign)
    return ann


def _pool_row(session: Session, lease: Assignment) -> CampaignClip:
    return session.exec(select(CampaignClip).where(
        CampaignClip.campaign_id == lease.campaign_id, CampaignClip.clip_id == lease.clip_id).with_for_update()).one()


def _member(session: Session, lease: Assignment) -> CampaignMember:
    return session.exec(select(CampaignMember).where(CampaignMember.campaign_id == lease.campaign_id,
                                                     CampaignMember.user_id == lease.user_id)).one()


def undo(session: Session, *, user: User, annotation_id: int) -> tuple[dealer.Deal, CampaignMember]:
    """Retract the author's vote while its lease lasts; the lease is live
    again, so the same clip can be labelled anew. Returns it as a deal."""
    ann = session.get(Annotation, annotation_id)
    if ann is None or ann.user_id != user.id:
        raise NotFound(f"Annotation {annotation_id} does not exist or is not yours.")
    lease = session.get(Assignment, ann.assignment_id)
    now = utcnow()
    if lease.expires_at <= now:
        raise Conflict(f"Too late to undo: your time on this clip ended at {lease.expires_at:%H:%M:%S} UTC, "
                       "so the label stands.")
    campaign = dealer.get_campaign(session, ann.campaign_id)
    with write_transaction(session):
        member = quality.member_for_update(session, campaign=campaign, user_id=user.id)
        ann = session.get(Annotation, annotation_id, populate_existing=True)
        if ann is None:
            raise NotFound(f"Annotation {annotation_id} was already undone.")
        session.refresh(lease, with_for_update=True)
        vote = PASS not in (ann.flags or [])
        lease.status = AssignmentStatus.active
        lease.completed_at = None
        session.add(lease)
        cc = _pool_row(session, lease)
        cc.active += 1
        cc.done = max(0, cc.done - int(vote))
        cc.priority = pool.pool_priority(cc, overlap=campaign.overlap)
        session.add(cc)
        if ann.is_gold and ann.gold_correct is not None:
            quality.unrecord_gold(campaign, member, correct=ann.gold_correct)
        member.labels = max(0, member.labels - int(vote))
        member.updated_at = now
        session.add(member)
        session.delete(ann)
        session.flush()
        hook = consensus_hook("on_annotation_undone")
        if hook is not None:
            hook(session, annotation=ann, campaign=campaign)
    return dealer.Deal(lease, dealer.ranking_for(session, campaign=campaign, assignment=lease)), member


def annotation_public(ann: Annotation) -> dict[str, Any]:
    return {"id": ann.id, "assignment_id": ann.assignment_id, "clip_id": ann.clip_id, "expression": ann.expression,
            "descriptor": ann.descriptor, "flags": list(ann.flags or []), "assisted": ann.assisted,
            "duration_ms": ann.duration_ms, "created_at": ann.created_at}
