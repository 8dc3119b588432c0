"""The assignment engine: which clip an annotator labels next.

Rules (the issue "Crowd labelling: the assignment engine"):
- a clip goes to at most `wanted` distinct annotators (live leases + votes),
  never twice to the same annotator (a unique constraint backs this);
- leases expire; expired leases are reclaimed by the next request of anyone
  (at most every RECLAIM_EVERY_S per process);
- clips the consensus engine wants more votes for come first, then clips
  already started, then fresh ones (see pool.py);
- gold clips are mixed in at `gold_rate`, answered the same way;
- an annotator holds at most MAX_LEASES live leases: the clip on screen and
  the one preloaded behind it. Asking again returns a held lease (reload-safe);
  `exclude` names the leases the page already has, to get the one after.

Per call: one transaction with the annotator's member row locked (their own
requests queue), the pool row taken with FOR UPDATE SKIP LOCKED on
PostgreSQL (annotators never wait for each other) or under the single SQLite
writer (txn.py). This is the hot path of the platform, so its statements are
built once, at import, and read plain rows rather than ORM objects.
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
from app.clips.models import GoldAnswer
from app.consensus import service as consensus
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.labeling import pool, quality
from app.labeling.models import Assignment, AssignmentStatus, Campaign, CampaignClip, CampaignStatus
from app.labeling.taxonomy_cache import canonical_names
from app.labeling.txn import write_transaction
from app.users.models import ROLE_RANK, Role, User

MAX_LEASES = 2
# Looking for clips that arrived since the pool was filled is a scan of the
# campaign's scenes: at most this often per campaign and process, and only
# when the pool came up empty.
REFILL_EVERY_S = 30.0
# The sweep for expired leases: at most this often per process.
RECLAIM_EVERY_S = 1.0
RECLAIM_BATCH = 200

_A = Assignment.__table__
_CC = CampaignClip.__table__
_P = Prediction.__table__
_bp = sa.bindparam
ACTIVE = AssignmentStatus.active.value

_HELD = (sa.select(_A.c.id, _A.c.clip_id, _A.c.created_at, _A.c.expires_at)
         .where(_A.c.user_id == _bp("user"), _A.c.campaign_id == _bp("campaign"), _A.c.status == ACTIVE,
                _A.c.expires_at > _bp("now"))
         .order_by(_A.c.id))


# Picking a clip must not hang on table statistics (PostgreSQL's are stale
# for a while after a campaign starts, and a plan made for "a few rows" then
# costs tens of milliseconds), nor on what other annotators are doing:
# - whether this annotator had a row is a probe of the assignment's unique
#   index per row (OFFSET 0 stops PostgreSQL turning it into a join planned
#   from the statistics);
# - rows other requests are taking are skipped, not waited for (FOR UPDATE
#   SKIP LOCKED; PostgreSQL re-checks the conditions on the newest version).
# Started clips are looked for among the top WINDOW only: the clips an
# annotator labelled wait there for other annotators' votes, and skipping all
# of them on every call would cost in proportion to their work; past the
# window a started clip is left to others and a fresh one dealt. In the fresh
# and gold parts an annotator's own rows are few (passes and lapsed leases;
# gold seen), so those parts are read in order until a row is found.
WINDOW = 48


def _const(value: int):
    # Written into the SQL, not bound: a generic plan cannot see a bound
    # value, and `priority >= $2` looks as if it might take the whole pool.
    return sa.literal(value, type_=sa.Integer, literal_execute=True)


def _part(kind: str) -> list:
    c = _CC.c
    gold = kind == "gold"
    # `= true`, not `IS true`: only the former can use the index on PostgreSQL.
    cond = [c.campaign_id == _bp("campaign"), c.is_gold == (sa.true() if gold else sa.false()),
            c.closed == sa.false()]
    if not gold:
        cond.append(c.active + c.done < c.wanted)
    cond.append(c.priority >= _const(pool.STARTED) if kind == "started" else c.priority == _const(pool.FRESH))
    return cond


# The deal index's own column order, although campaign and gold? are fixed:
# otherwise a generic plan may walk the primary key backwards instead.
_ORDER = (_CC.c.campaign_id.desc(), _CC.c.is_gold.desc(), _CC.c.priority.desc(), _CC.c.id.desc())
_HAD = (sa.select(_A.c.id).where(_A.c.campaign_id == _CC.c.campaign_id, _A.c.clip_id == _CC.c.clip_id,
                                  _A.c.user_id == _bp("user"))
        .correlate(_CC).offset(_const(0)).exists())
_ROW = (_CC.c.id, _CC.c.clip_id, _CC.c.is_gold, _CC.c.wanted, _CC.c.active, _CC.c.done, _CC.c.closed)
_WINDOW = (sa.select(_CC.c.id, _HAD.label("had")).where(*_part("started")).order_by(*_ORDER)
           .limit(_bp("window", type_=sa.Integer, literal_execute=True)))
_TAKE_STARTED = {
    wait: sa.select(*_ROW).where(_CC.c.id.in_(_bp("ids", expanding=True)), *_part("started"))
    .order_by(*_ORDER).limit(_const(1)).with_for_update(skip_locked=not wait, of=_CC)
    for wait in (False, True)}
_TAKE = {kind: sa.select(*_ROW).where(*_part(kind), ~_HAD).order_by(*_ORDER).limit(_const(1))
         .with_for_update(skip_locked=True, of=_CC) for kind in ("fresh", "gold")}


def _pick_ordinary(conn, args: dict):
    """Started first (within the window), then fresh. Should both come up
    empty only because other requests held the started candidates, wait for
    those: a busy end of campaign is not an empty one."""
    ids = [r.id for r in conn.execute(_WINDOW, {**args, "window": WINDOW}) if not r.had]
    cc = conn.execute(_TAKE_STARTED[False], {**args, "ids": ids}).first() if ids else None
    if cc is None:
        cc = conn.execute(_TAKE["fresh"], args).first()
    if cc is None and ids:
        cc = conn.execute(_TAKE_STARTED[True], {**args, "ids": ids}).first()
    return cc


def _pick_gold(conn, args: dict):
    return conn.execute(_TAKE["gold"], args).first()


_INSERT_LEASE = sa.insert(_A).returning(_A.c.id)
_BUMP = sa.update(_CC).where(_CC.c.id == _bp("cc")).values(active=_CC.c.active + 1, priority=_bp("priority"))
_RANKING = (sa.select(_P.c.probs).where(_P.c.clip_id == _bp("clip"), _P.c.created_at <= _bp("as_of"))
            .order_by(_P.c.created_at.desc()).limit(1))
# Gold leases of this annotator that lapsed unscored (see quality.decide_qualification).
_UNANSWERED_GOLD = sa.select(sa.func.count()).where(
    _A.c.campaign_id == _bp("campaign"), _A.c.user_id == _bp("user"), _A.c.is_gold == sa.true(),
    _A.c.gold_result.is_(None), _A.c.status != ACTIVE,
    sa.exists().where(GoldAnswer.__table__.c.clip_id == _A.c.clip_id))
_EXPIRED = sa.select(_A.c.id).where(_A.c.status == ACTIVE, _A.c.expires_at <= _bp("now")).limit(1)

_last_refill: dict[int, float] = {}
_last_reclaim = [0.0]


@dataclass(frozen=True)
class Lease:
    """The fields of an Assignment a deal answers with."""

    id: int
    clip_id: int
    created_at: datetime
    expires_at: datetime


@dataclass
class Deal:
    assignment: Lease | Assignment
    ranking: list[dict] | None

    @property
    def media_url(self) -> str:
        return media_url(self.assignment.clip_id)


def media_url(clip_id: int) -> str:
    # The same shape for gold and ordinary clips: nothing tells them apart.
    return f"/media/clips/{clip_id}/preview.mp4"


def not_open(campaign_id: int) -> NotFound:
    """What an annotator hears of a campaign that is not open to them."""
    return NotFound(f"Campaign {campaign_id} does not exist or is not open.")


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
    maybe_reclaim(session)
    skip = {int(i) for i in exclude}
    stopped: Exception | None = None
    with write_transaction(session):
        try:
            deal = _next_locked(session, campaign_id=campaign_id, user=user, skip=skip)
        except _Stop as stop:  # keep what was decided, then refuse
            deal, stopped = None, stop.error
    if stopped is not None:
        # Paused: the clips that waited for their votes are decided again.
        consensus.redecide_campaign(session, campaign_id=campaign_id, waiting_only=True)
        raise stopped
    return deal


def _next_locked(session: Session, *, campaign_id: int, user: User, skip: set[int]) -> Deal | None:
    conn = session.connection()
    member, campaign = quality.standing_and_campaign(session, campaign_id=campaign_id, user_id=user.id)
    if campaign.status != CampaignStatus.active:
        if campaign.status == CampaignStatus.closed and ROLE_RANK[Role(user.role)] < ROLE_RANK[Role.reviewer]:
            # As GET /campaigns/{id}: annotators never learn a closed campaign's
            # name (a paused one they were labelling keeps its explanation).
            raise not_open(campaign_id)
        raise Conflict(f"Campaign '{campaign.name}' is {CampaignStatus(campaign.status).value}; "
                       "nothing is dealt from it now.")
    if user.paused or member.paused:
        raise Forbidden(quality.pause_message(campaign, member, user))
    now = utcnow()
    held = conn.execute(_HELD, {"user": user.id, "campaign": campaign.id, "now": now}).all()
    for row in held:
        if row.id not in skip:  # reload: the same clip again
            lease = Lease(row.id, row.clip_id, row.created_at, row.expires_at)
            return Deal(lease, _ranking(session, campaign=campaign, lease=lease))
    if len(held) >= MAX_LEASES:
        raise Conflict(f"You already hold {len(held)} clips in this campaign; label one of them first.")

    args = {"campaign": campaign.id, "user": user.id}
    cc = None
    if quality.qualifying(campaign, member):
        cc = _pick_gold(conn, args)
        if cc is None:
            if held:
                return None  # the answers in flight decide the qualification
            quality.decide_qualification(campaign, member,
                                         unanswered=conn.execute(_UNANSWERED_GOLD, args).scalar_one())
            quality.save_standing(session, member)
            if member.paused:
                raise _Stop(Forbidden(quality.pause_message(campaign, member, user)))
    elif campaign.gold_rate > 0 and random.random() < campaign.gold_rate:
        cc = _pick_gold(conn, args)
    if cc is None and not quality.qualifying(campaign, member):
        # Ordinary clips only: once they run out the annotator is done, gold
        # alone would add no labels.
        cc = _pick_ordinary(conn, args)
        if cc is None and _refill_due(campaign.id) and pool.fill_pool(session, campaign=campaign):
            cc = _pick_ordinary(conn, args)
    if cc is None:
        return None
    expires = now + timedelta(seconds=campaign.lease_seconds)
    lease_id = conn.execute(_INSERT_LEASE, {
        "campaign_id": campaign.id, "clip_id": cc.clip_id, "user_id": user.id, "is_gold": cc.is_gold,
        "status": ACTIVE, "created_at": now, "expires_at": expires, "completed_at": None}).scalar_one()
    priority = pool.priority_of(is_gold=cc.is_gold, wanted=cc.wanted, active=cc.active + 1, done=cc.done,
                                closed=cc.closed, overlap=campaign.overlap)
    conn.execute(_BUMP, {"cc": cc.id, "priority": priority})
    lease = Lease(lease_id, cc.clip_id, now, expires)
    return Deal(lease, _ranking(session, campaign=campaign, lease=lease))


def _refill_due(campaign_id: int) -> bool:
    now = time.monotonic()
    if now - _last_refill.get(campaign_id, -1e9) < REFILL_EVERY_S:
        return False
    _last_refill[campaign_id] = now
    return True


def maybe_reclaim(session: Session) -> int:
    now = time.monotonic()
    if now - _last_reclaim[0] < RECLAIM_EVERY_S:
        return 0
    _last_reclaim[0] = now
    return reclaim_expired(session)


def reclaim_expired(session: Session, *, limit: int = RECLAIM_BATCH) -> int:
    """Return expired leases' clips to their pools. A cheap indexed probe
    (status, expires_at) first; the write only when something expired."""
    now = utcnow()
    if session.connection().execute(_EXPIRED, {"now": now}).first() is None:
        return 0
    with write_transaction(session):
        leases = session.exec(select(Assignment).where(
            Assignment.status == AssignmentStatus.active, Assignment.expires_at <= now,
        ).order_by(Assignment.id).limit(limit).with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)).all()
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
                CampaignClip.campaign_id == campaign_id, CampaignClip.clip_id == clip_id).with_for_update()
                .execution_options(populate_existing=True)).first()
            if cc is None:
                continue
            cc.active = max(0, cc.active - n)
            cc.priority = pool.pool_priority(cc, overlap=overlaps.get(campaign_id, cc.wanted))
            session.add(cc)
    # A lapsed lease may have been the clip's last chance of a vote.
    by_campaign: dict[int, list[int]] = {}
    for campaign_id, clip_id in per_clip:
        by_campaign.setdefault(campaign_id, []).append(clip_id)
    for campaign_id, clip_ids in sorted(by_campaign.items()):
        consensus.redecide_campaign(session, campaign_id=campaign_id, waiting_only=True, clip_ids=clip_ids)
    return len(leases)


def _ranking(session: Session, *, campaign: Campaign, lease: Lease | Assignment) -> list[dict] | None:
    """The model's ranking to show with this lease: the newest prediction of
    the clip made before the lease was dealt (so a reload shows the same),
    in assisted campaigns only."""
    if not campaign.assisted:
        return None
    probs = session.connection().execute(_RANKING, {"clip": lease.clip_id, "as_of": lease.created_at}).scalar()
    if not probs:
        return None
    names = canonical_names(session)
    rows = []
    for name, p in probs.items():
        canon = names.get(str(name).lower())
        if canon is not None:
            rows.append({"expression": canon, "p": round(float(p), 4)})
    rows.sort(key=lambda r: -r["p"])
    return rows or None


def ranking_for(session: Session, *, campaign: Campaign, assignment: Lease | Assignment) -> list[dict] | None:
    return _ranking(session, campaign=campaign, lease=assignment)
