"""The assignment engine: which clip an annotator labels next.

Rules (the issue "Crowd labelling: the assignment engine"):
- a clip goes to at most `wanted` distinct annotators (live leases + votes),
  never twice to the same annotator (a unique constraint backs this);
- leases expire; expired leases are reclaimed on the next call of anyone;
- clips the consensus engine wants more votes for come first, then clips
  already started, then fresh ones (see pool.py);
- gold clips are mixed in at `gold_rate`, answered the same way;
- an annotator holds at most MAX_LEASES live leases: the clip on screen and
  the one preloaded behind it. Asking again returns a held lease (reload-safe);
  `exclude` names the leases the page already has, to get the one after.

Per call: one transaction with the annotator's member row locked (their own
requests queue), the pool rows taken with FOR UPDATE SKIP LOCKED on
PostgreSQL (annotators never wait for each other) or under the single SQLite
writer (txn.py). The ranking is read after the commit.
"""
from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from app.benchmarks.models import Prediction
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.labeling import pool, quality
from app.labeling.models import Assignment, AssignmentStatus, Campaign, CampaignClip, CampaignStatus
from app.labeling.taxonomy_cache import canonical_names
from app.labeling.txn import write_transaction
from app.users.models import User

MAX_LEASES = 2
# Looking for clips that arrived since the pool was filled is a scan of the
# campaign's scenes: at most this often per campaign and process, and only
# when the pool came up empty.
REFILL_EVERY_S = 30.0
RECLAIM_BATCH = 200
_last_refill: dict[int, float] = {}


@dataclass
class Deal:
    assignment: Assignment
    ranking: list[dict] | None

    @property
    def media_url(self) -> str:
        return media_url(self.assignment.clip_id)


def media_url(clip_id: int) -> str:
    # The same shape for gold and ordinary clips: nothing tells them apart.
    return f"/media/clips/{clip_id}/preview.mp4"


class _Stop(Exception):
    """A refusal decided inside the transaction whose changes must be kept
    (e.g. a failed qualification pauses the annotator): commit, then raise."""

    def __init__(self, error: Exception):
        self.error = error


def get_campaign(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(f"Campaign {campaign_id} does not exist.")
    return campaign


def next_assignment(session: Session, *, campaign_id: int, user: User, exclude: Iterable[int] = ()) -> Deal | None:
    """The lease the annotator should label now, or None when nothing is left
    for them in this campaign."""
    campaign = get_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.active:
        raise Conflict(f"Campaign '{campaign.name}' is {CampaignStatus(campaign.status).value}; "
                       "nothing is dealt from it now.")
    reclaim_expired(session)
    skip = {int(i) for i in exclude}
    stopped: Exception | None = None
    with write_transaction(session):
        try:
            lease = _next_locked(session, campaign=campaign, user=user, skip=skip)
        except _Stop as stop:  # keep what was decided, then refuse
            lease, stopped = None, stop.error
    if stopped is not None:
        raise stopped
    if lease is None:
        return None
    return Deal(lease, ranking_for(session, campaign=campaign, assignment=lease))


def _next_locked(session: Session, *, campaign: Campaign, user: User, skip: set[int]) -> Assignment | None:
    member = quality.member_for_update(session, campaign=campaign, user_id=user.id)
    if user.paused or member.paused:
        raise Forbidden(quality.pause_message(campaign, member, user))
    now = utcnow()
    held = session.exec(select(Assignment).where(
        Assignment.user_id == user.id, Assignment.campaign_id == campaign.id,
        Assignment.status == AssignmentStatus.active, Assignment.expires_at > now,
    ).order_by(Assignment.id)).all()
    for lease in held:
        if lease.id not in skip:
            return lease  # reload: the same clip again
    if len(held) >= MAX_LEASES:
        raise Conflict(f"You already hold {len(held)} clips in this campaign; label one of them first.")

    if quality.qualifying(campaign, member):
        cc = _pick(session, campaign=campaign, user_id=user.id, gold=True)
        if cc is None:
            if held:
                return None  # the answers in flight decide the qualification
            quality.decide_qualification(campaign, member)
            member.updated_at = now
            session.add(member)
            if member.paused:
                raise _Stop(Forbidden(quality.pause_message(campaign, member, user)))
    else:
        cc = None
        if campaign.gold_rate > 0 and random.random() < campaign.gold_rate:
            cc = _pick(session, campaign=campaign, user_id=user.id, gold=True)
    if cc is None and not quality.qualifying(campaign, member):
        # Ordinary clips only: once they run out the annotator is done, gold
        # alone would add no labels.
        cc = _pick(session, campaign=campaign, user_id=user.id, gold=False)
        if cc is None and _refill_due(campaign.id) and pool.fill_pool(session, campaign=campaign):
            cc = _pick(session, campaign=campaign, user_id=user.id, gold=False)
    if cc is None:
        return None
    lease = Assignment(campaign_id=campaign.id, clip_id=cc.clip_id, user_id=user.id, is_gold=cc.is_gold,
                       created_at=now, expires_at=now + timedelta(seconds=campaign.lease_seconds))
    session.add(lease)
    cc.active += 1
    cc.priority = pool.pool_priority(cc, overlap=campaign.overlap)
    session.add(cc)
    session.flush()
    return lease


def _pick(session: Session, *, campaign: Campaign, user_id: int, gold: bool) -> CampaignClip | None:
    """The first dealable pool row, highest priority first, locked; rows other
    requests hold are skipped, not waited for."""
    c = CampaignClip
    seen = sa.exists().where(Assignment.campaign_id == campaign.id, Assignment.clip_id == c.clip_id,
                             Assignment.user_id == user_id)
    for priority in ((pool.FRESH,) if gold else (pool.MORE, pool.STARTED, pool.FRESH)):
        q = (select(c).where(c.campaign_id == campaign.id, c.is_gold == gold, c.priority == priority,
                             c.closed == False, ~seen)  # noqa: E712 - SQL
             .order_by(c.id).limit(1).with_for_update(skip_locked=True, of=c))
        if not gold:
            q = q.where(c.active + c.done < c.wanted)
        row = session.exec(q).first()
        if row is not None:
            return row
    return None


def _refill_due(campaign_id: int) -> bool:
    now = time.monotonic()
    if now - _last_refill.get(campaign_id, -1e9) < REFILL_EVERY_S:
        return False
    _last_refill[campaign_id] = now
    return True


def reclaim_expired(session: Session, *, limit: int = RECLAIM_BATCH) -> int:
    """Return expired leases' clips to their pools. A cheap indexed probe
    (status, expires_at) on every call; the write only when something expired."""
    now = utcnow()
    probe = select(Assignment.id).where(Assignment.status == AssignmentStatus.active,
                                        Assignment.expires_at <= now).limit(limit)
    if not session.exec(probe).first():
        return 0
    with write_transaction(session):
        leases = session.exec(select(Assignment).where(
            Assignment.status == AssignmentStatus.active, Assignment.expires_at <= now,
        ).order_by(Assignment.id).limit(limit).with_for_update(skip_locked=True)).all()
        if not leases:
            return 0
        per_clip: dict[tuple[int, int], int] = {}
        for lease in leases:
            lease.status = AssignmentStatus.expired
            session.add(lease)
            key = (lease.campaign_id, lease.clip_id)
            per_clip[key] = per_clip.get(key, 0) + 1
        overlaps = dict(session.exec(select(Campaign.id, Campaign.overlap).where(
            Campaign.id.in_({k[0] for k in per_clip}))).all())
        for (campaign_id, clip_id), n in sorted(per_clip.items()):
            cc = session.exec(select(CampaignClip).where(
                CampaignClip.campaign_id == campaign_id, CampaignClip.clip_id == clip_id).with_for_update()).first()
            if cc is None:
                continue
            cc.active = max(0, cc.active - n)
            cc.priority = pool.pool_priority(cc, overlap=overlaps.get(campaign_id, cc.wanted))
            session.add(cc)
    return len(leases)


def ranking_for(session: Session, *, campaign: Campaign, assignment: Assignment) -> list[dict] | None:
    """The model's ranking to show with this lease: the newest prediction of
    the clip made before the lease was dealt (so a reload shows the same),
    in assisted campaigns only."""
    if not campaign.assisted:
        return None
    pred = _prediction(session, clip_id=assignment.clip_id, as_of=assignment.created_at)
    if pred is None:
        return None
    names = canonical_names(session)
    rows = []
    for name, p in (pred.probs or {}).items():
        canon = names.get(str(name).lower())
        if canon is not None:
            rows.append({"expression": canon, "p": round(float(p), 4)})
    rows.sort(key=lambda r: -r["p"])
    return rows or None


def _prediction(session: Session, *, clip_id: int, as_of: datetime) -> Prediction | None:
    return session.exec(select(Prediction).where(Prediction.clip_id == clip_id, Prediction.created_at <= as_of)
                        .order_by(Prediction.created_at.desc()).limit(1)).first()


def had_ranking(session: Session, *, campaign: Campaign, assignment: Assignment) -> bool:
    """Whether the model's ranking was on screen for this lease."""
    if not campaign.assisted:
        return False
    q = select(Prediction.id).where(Prediction.clip_id == assignment.clip_id,
                                    Prediction.created_at <= assignment.created_at).limit(1)
    return session.exec(q).first() is not None

