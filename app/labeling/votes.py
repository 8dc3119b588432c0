"""Annotations: a vote on a leased clip, and its undo while the lease lasts.

Both run in one transaction with the pool counters, the annotator's gold
record and the consensus hook, so a vote is counted everywhere or nowhere.
Lock order (as in the dealer): member row, then assignment, then pool row.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from app.benchmarks.models import Prediction
from app.clips.models import GoldAnswer
from app.consensus import service as consensus
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.labeling import dealer, pool, quality
from app.labeling.models import (Annotation, AnnotationCreate, Assignment, AssignmentStatus, CampaignClip,
                                 CampaignMember)
from app.labeling.taxonomy_cache import check
from app.labeling.txn import write_transaction
from app.users.models import User

FLAGS = ("pass", "not_a_face", "bad_clip")
# A pass is no vote: the annotator skips the clip and its slot goes to someone
# else (done is not counted). not_a_face / bad_clip are votes about the clip.
PASS = "pass"


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


_A = Assignment.__table__
_AN = Annotation.__table__
_CC = CampaignClip.__table__
_P = Prediction.__table__
_G = GoldAnswer.__table__
_bp = sa.bindparam

# One read for everything submit needs to know before writing: the lease,
# whether it was answered already (a retry), and whether the model's ranking
# was on screen (a prediction older than the lease).
_LEASE = sa.select(
    _A.c.id, _A.c.campaign_id, _A.c.clip_id, _A.c.user_id, _A.c.is_gold, _A.c.status, _A.c.created_at,
    _A.c.expires_at, _A.c.gold_result, _AN.c.id.label("annotation_id"),
    sa.exists().where(_P.c.clip_id == _A.c.clip_id, _P.c.created_at <= _A.c.created_at).label("ranked"),
).select_from(_A.outerjoin(_AN, _AN.c.assignment_id == _A.c.id)).where(_A.c.id == _bp("id"))
_CLOSE_LEASE = sa.update(_A).where(_A.c.id == _bp("lease"), _A.c.status == AssignmentStatus.active.value,
                                   _A.c.expires_at > _bp("now")).values(status=AssignmentStatus.done.value,
                                                                        completed_at=_bp("now"))
_COUNT_VOTE = (sa.update(_CC).where(_CC.c.campaign_id == _bp("campaign"), _CC.c.clip_id == _bp("clip"))
               .values(active=_CC.c.active - 1, done=_CC.c.done + _bp("vote"))
               .returning(_CC.c.id, _CC.c.is_gold, _CC.c.wanted, _CC.c.active, _CC.c.done, _CC.c.closed,
                          _CC.c.priority))
_REPRIORITISE = sa.update(_CC).where(_CC.c.id == _bp("cc")).values(priority=_bp("priority"))
_GOLD = sa.select(_G.c.expression).where(_G.c.clip_id == _bp("clip"))
_SCORE_LEASE = sa.update(_A).where(_A.c.id == _bp("lease")).values(gold_result=_bp("result"))
_INSERT_VOTE = sa.insert(_AN).returning(_AN.c.id)
_RELEASE = sa.update(_A).where(_A.c.user_id == _bp("user"), _A.c.campaign_id == _bp("campaign"),
                               _A.c.status == AssignmentStatus.active.value).values(expires_at=_bp("now"))


def _expired(expires_at) -> Conflict:
    return Conflict(f"Your time on this clip ran out at {expires_at:%H:%M:%S} UTC and it went back to the "
                    "pool; the label was not saved. Fetch the next clip.")


def submit(session: Session, *, user: User, data: AnnotationCreate) -> tuple[Annotation, bool, Any]:
    """Record a vote. Returns (annotation, created, the annotator's standing
    in the campaign); a retry of the same assignment returns the first
    record with created False."""
    ann = None
    # One transaction from the first read (on SQLite: one BEGIN IMMEDIATE);
    # a refusal writes nothing.
    with write_transaction(session):
        lease = session.connection().execute(_LEASE, {"id": data.assignment_id}).first()
        # Someone else's lease reads as missing: ids of others' work are not ours to probe.
        if lease is None or lease.user_id != user.id:
            raise NotFound(f"Assignment {data.assignment_id} does not exist or is not yours.")
        if lease.annotation_id is not None:
            return _retry(session, lease)
        expression, descriptor, flags = _clean(session, data)
        now = utcnow()
        if lease.status != AssignmentStatus.active or lease.expires_at <= now:
            raise _expired(lease.expires_at)
        member, campaign = quality.standing_and_campaign(session, campaign_id=lease.campaign_id, user_id=user.id)
        was_paused = member.paused
        if session.connection().execute(_CLOSE_LEASE, {"lease": lease.id, "now": now}).rowcount == 1:
            ann = _record(session, campaign=campaign, member=member, lease=lease, now=now, expression=expression,
                          descriptor=descriptor, flags=flags, duration_ms=data.duration_ms)
    if ann is None:  # a retry or the expiry sweep got there first
        again = session.connection().execute(_LEASE, {"id": lease.id}).first()
        if again.annotation_id is not None:
            return _retry(session, again)
        raise _expired(again.expires_at)
    if member.paused and not was_paused:  # this vote paused them: clips waiting for them wait no more
        consensus.redecide_campaign(session, campaign_id=campaign.id, waiting_only=True)
    return ann, True, member


def _retry(session: Session, lease) -> tuple[Annotation, bool, CampaignMember]:
    ann = session.get(Annotation, lease.annotation_id)
    member = session.exec(select(CampaignMember).where(CampaignMember.campaign_id == lease.campaign_id,
                                                       CampaignMember.user_id == lease.user_id)).one()
    return ann, False, member


def _record(session: Session, *, campaign, member: quality.Standing, lease, now, expression, descriptor, flags,
            duration_ms) -> Annotation:
    conn = session.connection()
    vote = PASS not in flags
    cc = conn.execute(_COUNT_VOTE, {"campaign": lease.campaign_id, "clip": lease.clip_id, "vote": int(vote)}).one()
    if not vote:  # a pass frees the slot: the clip may be dealable again
        priority = pool.priority_of(is_gold=cc.is_gold, wanted=cc.wanted, active=cc.active, done=cc.done,
                                    closed=cc.closed, overlap=campaign.overlap)
        if priority != cc.priority:
            conn.execute(_REPRIORITISE, {"cc": cc.id, "priority": priority})

    gold_correct = None
    if lease.is_gold:
        gold_correct = _score_gold(conn, campaign=campaign, member=member, lease=lease, now=now,
                                   expression=expression)
    member.labels += int(vote)
    quality.save_standing(session, member)

    values = dict(assignment_id=lease.id, campaign_id=lease.campaign_id, clip_id=lease.clip_id,
                  user_id=member.user_id, expression=expression, descriptor=descriptor, flags=flags,
                  duration_ms=duration_ms, assisted=bool(campaign.assisted and lease.ranked), is_gold=lease.is_gold,
                  gold_correct=gold_correct, created_at=now)
    ann = Annotation(id=conn.execute(_INSERT_VOTE, values).scalar_one(), **values)
    consensus.on_annotation(session, annotation=ann, campaign=campaign)
    return ann


def _score_gold(conn, *, campaign, member: quality.Standing, lease, now, expression) -> bool | None:
    """Score the first answer to a gold lease, whatever it is (a pass or a
    flag is a wrong attempt); a later answer (after an undo) gets the first
    one's result and changes no record. Returns the result for the vote."""
    if lease.gold_result is not None:
        return lease.gold_result
    answer = conn.execute(_GOLD, {"clip": lease.clip_id}).scalar()
    if answer is None:  # the clip stopped being gold since it was dealt
        return None
    correct = expression is not None and expression.lower() == answer.lower()
    conn.execute(_SCORE_LEASE, {"lease": lease.id, "result": correct})
    was_paused = member.paused
    quality.record_gold(campaign, member, correct=correct)
    if member.paused and not was_paused:
        # Paused: the clips they still hold go back at the next sweep.
        conn.execute(_RELEASE, {"user": member.user_id, "campaign": campaign.id, "now": now})
    return correct


def _pool_row(session: Session, lease: Assignment) -> CampaignClip:
    return session.exec(select(CampaignClip).where(
        CampaignClip.campaign_id == lease.campaign_id, CampaignClip.clip_id == lease.clip_id).with_for_update()
        .execution_options(populate_existing=True)).one()


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
        # A gold result stays as scored (see quality.py): undo takes back the vote only.
        member.labels = max(0, member.labels - int(vote))
        member.updated_at = now
        session.add(member)
        session.delete(ann)
        session.flush()
        consensus.on_annotation_undone(session, annotation=ann, campaign=campaign)
    return dealer.Deal(lease, dealer.ranking_for(session, campaign=campaign, assignment=lease)), member


def annotation_public(ann: Annotation) -> dict[str, Any]:
    return {"id": ann.id, "assignment_id": ann.assignment_id, "clip_id": ann.clip_id, "expression": ann.expression,
            "descriptor": ann.descriptor, "flags": list(ann.flags or []), "assisted": ann.assisted,
            "duration_ms": ann.duration_ms, "created_at": ann.created_at}
