"""Each campaign's pool of clips (CampaignClip) and its deal order.

The dealer reads the `ix_campaignclip_deal` index (campaign, gold?, priority,
id) backwards from its top: highest priority first and, within a priority,
newest first (one range scan that stops at the first dealable row; newest
first also finishes started clips depth-first). A clip that cannot be dealt
(it has all the annotators it wants, or it is closed) is parked at priority
FULL = -1, below the range, so finished clips cost the dealer nothing
however many accumulate. Priorities:

    2  the consensus engine asked for more votes (wanted > overlap)
    1  started: someone holds or has labelled it
    0  fresh
   -1  FULL: active + done >= wanted, or closed

The consensus engine should change `wanted` and `closed` through
`request_more_votes` and `close_clip` so the priority follows.
"""
from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlmodel import Session, select

from app.clips.models import Clip, GoldAnswer
from app.labeling.models import Assignment, Campaign, CampaignClip, CampaignMember, CampaignStatus
from app.users.models import Role, User

FULL = -1
MORE, STARTED, FRESH = 2, 1, 0


def pool_priority(cc: CampaignClip, *, overlap: int) -> int:
    return priority_of(is_gold=cc.is_gold, wanted=cc.wanted, active=cc.active, done=cc.done, closed=cc.closed,
                       overlap=overlap)


def priority_of(*, is_gold: bool, wanted: int, active: int, done: int, closed: bool, overlap: int) -> int:
    if closed or (not is_gold and active + done >= wanted):
        return FULL
    if is_gold:
        return FRESH  # gold goes to everyone once; its order does not matter
    if wanted > overlap:
        return MORE
    return STARTED if active + done > 0 else FRESH


def _priority_sql(overlap: int):
    """pool_priority as one SQL expression, for bulk updates."""
    c = CampaignClip
    return sa.case(
        (sa.or_(c.closed, sa.and_(~c.is_gold, c.active + c.done >= c.wanted)), FULL),
        (c.is_gold, FRESH),
        (c.wanted > overlap, MORE),
        (c.active + c.done > 0, STARTED),
        else_=FRESH,
    )


def _fill(session: Session, campaign: Campaign, clip_filter) -> int:
    gold = sa.exists().where(GoldAnswer.clip_id == Clip.id)
    already = sa.exists().where(CampaignClip.campaign_id == campaign.id, CampaignClip.clip_id == Clip.id)
    src = select(sa.literal(campaign.id), Clip.id, gold, sa.literal(campaign.overlap), sa.literal(0), sa.literal(0),
                 sa.literal(FRESH), sa.false()).where(~already)
    if campaign.scene_ids:
        src = src.where(Clip.scene_id.in_(campaign.scene_ids))
    if clip_filter is not None:
        src = src.where(clip_filter)
    cols = ["campaign_id", "clip_id", "is_gold", "wanted", "active", "done", "priority", "closed"]
    # Counted through RETURNING: psycopg reports no rowcount for INSERT … SELECT here.
    table = CampaignClip.__table__
    res = session.connection().execute(sa.insert(table).from_select(cols, src).returning(table.c.id))
    return len(res.all())


# PostgreSQL plans the dealer's queries from table statistics; right after a
# bulk fill they still describe the empty pool (autovacuum comes later), and
# a plan made for "a few rows" is slow for thousands.
ANALYZE_AFTER = 1000


def fill_pool(session: Session, *, campaign: Campaign) -> int:
    """Add every clip of the campaign's scenes that is not in its pool yet;
    returns how many. Does not commit."""
    added = _fill(session, campaign, None)
    if added >= ANALYZE_AFTER and session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("ANALYZE campaignclip"))
    return added


def add_clips_to_campaigns(session: Session, clip_ids: Iterable[int]) -> int:
    """New clips join the pool of every open campaign that covers their scene.
    For the ingest side, inside its own transaction (does not commit)."""
    ids = sorted({int(i) for i in clip_ids})
    if not ids:
        return 0
    campaigns = session.exec(select(Campaign).where(Campaign.status != CampaignStatus.closed)).all()
    return sum(_fill(session, c, Clip.id.in_(ids)) for c in campaigns)


def normalise(session: Session, *, campaign: Campaign) -> None:
    """Recompute every priority of the pool (after settings change, or when
    someone changed counters without going through this module)."""
    session.execute(sa.update(CampaignClip).where(CampaignClip.campaign_id == campaign.id)
                    .values(priority=_priority_sql(campaign.overlap)))


def retarget(session: Session, *, campaign: Campaign, old_overlap: int) -> None:
    """The campaign's overlap changed: clips that wanted the old overlap want
    the new one; clips the consensus engine raised keep at least it."""
    c = CampaignClip
    new = campaign.overlap
    session.execute(sa.update(c).where(c.campaign_id == campaign.id, c.wanted == old_overlap).values(wanted=new))
    session.execute(sa.update(c).where(c.campaign_id == campaign.id, c.wanted < new).values(wanted=new))
    normalise(session, campaign=campaign)


_CC = CampaignClip.__table__
_C = Campaign.__table__
_bp = sa.bindparam
_U = User.__table__
_M = CampaignMember.__table__
_A = Assignment.__table__
# Someone who could still label this clip in this campaign: an active,
# unpaused account, not paused in the campaign, that has never been dealt the
# clip (a clip goes to an annotator once: voted, passed or lapsed alike).
# Members of the campaign count, and annotators who have not opened it yet
# (they may); reviewers and admins only once they have labelled in it.
_VOTER_LEFT = (
    sa.select(_U.c.id)
    .select_from(_U.outerjoin(_M, sa.and_(_M.c.user_id == _U.c.id, _M.c.campaign_id == _bp("campaign"))))
    .where(_U.c.active == sa.true(), _U.c.paused == sa.false(),
           sa.or_(sa.and_(_M.c.id.is_not(None), _M.c.paused == sa.false()),
                  sa.and_(_M.c.id.is_(None), _U.c.role == Role.annotator.value)),
           ~sa.exists().where(_A.c.campaign_id == _bp("campaign"), _A.c.clip_id == _bp("clip"),
                              _A.c.user_id == _U.c.id))
    .limit(1))
# Plain statements, built once: the consensus engine calls these on every vote.
_ROW = (sa.select(_CC.c.id, _CC.c.is_gold, _CC.c.wanted, _CC.c.active, _CC.c.done, _CC.c.closed,
                  _VOTER_LEFT.exists().label("voters_left"))
        .where(_CC.c.campaign_id == _bp("campaign"), _CC.c.clip_id == _bp("clip")).with_for_update(of=_CC))
_OVERLAPS = sa.select(_C.c.overlap, _C.c.max_overlap).where(_C.c.id == _bp("campaign"))
_MORE = (sa.update(_CC).where(_CC.c.id == _bp("cc"))
         .values(wanted=_bp("new_wanted"), closed=False, priority=_bp("new_priority")))
_REOPEN = sa.update(_CC).where(_CC.c.id == _bp("cc")).values(closed=False, priority=_bp("new_priority"))
_CLOSE = (sa.update(_CC).where(_CC.c.campaign_id == _bp("campaign"), _CC.c.clip_id == _bp("clip"))
          .values(closed=True, priority=FULL))


def pool_row(session: Session, *, campaign_id: int, clip_id: int):
    """The clip's pool row in this campaign (locked), as a plain row, or None;
    `voters_left` too (see voters_left), read in the same statement because
    the consensus engine needs both on every vote."""
    return session.connection().execute(_ROW, {"campaign": campaign_id, "clip": clip_id}).first()


def request_more_votes(session: Session, *, campaign_id: int, clip_id: int, votes: int = 1, campaign=None,
                       row=None) -> bool:
    """For the consensus engine: deal this clip to `votes` more annotators,
    up to the campaign's max_overlap, ahead of everything else. Returns False
    when the clip already wants max_overlap (then it needs an expert).
    `campaign` (its overlap and max_overlap) and `row` (pool_row) save a read
    each when the caller has them."""
    conn = session.connection()
    if campaign is None:
        campaign = conn.execute(_OVERLAPS, {"campaign": campaign_id}).first()
    cc = row if row is not None else pool_row(session, campaign_id=campaign_id, clip_id=clip_id)
    if campaign is None or cc is None:
        return False
    wanted = min(campaign.max_overlap, max(cc.wanted, cc.done) + votes)
    if wanted <= cc.wanted:
        return False
    priority = priority_of(is_gold=cc.is_gold, wanted=wanted, active=cc.active, done=cc.done, closed=False,
                           overlap=campaign.overlap)
    conn.execute(_MORE, {"cc": cc.id, "new_wanted": wanted, "new_priority": priority})
    return True


def reopen(session: Session, *, row, overlap: int) -> None:
    """A closed clip unsettled again (a vote retracted): deal its missing
    planned votes again."""
    priority = priority_of(is_gold=row.is_gold, wanted=row.wanted, active=row.active, done=row.done, closed=False,
                           overlap=overlap)
    session.connection().execute(_REOPEN, {"cc": row.id, "new_priority": priority})


def close_clip(session: Session, *, campaign_id: int, clip_id: int) -> None:
    """For the consensus engine: this clip is settled (trusted, rejected or
    reviewed); deal it no more. Leases in flight still count their vote."""
    session.connection().execute(_CLOSE, {"campaign": campaign_id, "clip": clip_id})


def voters_left(session: Session, *, campaign_id: int, clip_id: int) -> bool:
    """Whether anyone may still give this clip a vote in this campaign (see
    _VOTER_LEFT); when nobody may, a clip that needs votes needs an expert."""
    return session.connection().execute(_VOTER_LEFT, {"campaign": campaign_id, "clip": clip_id}).first() is not None


def cap_wanted(session: Session, *, campaign: Campaign) -> None:
    """After max_overlap was lowered: no open clip wants more votes than it."""
    c = CampaignClip
    session.execute(sa.update(c).where(c.campaign_id == campaign.id, c.wanted > campaign.max_overlap)
                    .values(wanted=campaign.max_overlap))
