"""A campaign's progress: counts, and how many clips wait in each state and
for what (the campaign page's table)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, func, select

from app.consensus.models import ConsensusLabel
from app.core.db import utcnow
from app.labeling.dealer import get_campaign, reclaim_expired
from app.labeling.models import Annotation, CampaignClip, CampaignMember
from app.labeling.schemas import ClipState, Progress


def is_label(annotation=Annotation):
    """An annotation that counts as a label: anything but a pass (as
    CampaignMember.labels counts them). Flags are a JSON list of fixed words."""
    return ~sa.cast(annotation.flags, sa.String).like('%"pass"%')


# (state, what its clips wait for), in the order the page lists them.
STATES = (
    ("not started", "their first annotator"),
    ("being labelled", "the votes of the leases in flight"),
    ("planned votes", "the rest of the votes per clip the campaign asks for"),
    ("disputed", "an extra vote (the crowd disagrees; more annotators are asked, up to the campaign's 'at most')"),
    ("all votes in", "a decision (momentary)"),
    ("expert review", "a reviewer in the review queue"),
    ("trusted", "nothing: settled with a trusted label"),
    ("rejected", "nothing: settled as not usable (not a face or a bad clip)"),
    ("gold", "nothing: gold clips keep measuring annotators"),
)


def _state_sql(overlap: int):
    c, L = CampaignClip, ConsensusLabel
    return sa.case(
        (c.is_gold, "gold"),
        (L.status == "review", "expert review"),
        (sa.and_(c.closed, L.status == "rejected"), "rejected"),
        (c.closed, "trusted"),
        (c.active > 0, "being labelled"),
        (c.done == 0, "not started"),
        (c.done >= c.wanted, "all votes in"),
        (c.wanted > overlap, "disputed"),
        else_="planned votes",
    )


def clip_states(session: Session, *, campaign_id: int, overlap: int) -> list[ClipState]:
    c, L = CampaignClip, ConsensusLabel
    state = _state_sql(overlap).label("state")
    counts = dict(session.exec(
        select(state, func.count()).select_from(c)
        .outerjoin(L, sa.and_(L.clip_id == c.clip_id, L.run_id.is_(None)))
        .where(c.campaign_id == campaign_id).group_by(state)).all())
    return [ClipState(state=name, clips=int(counts.get(name, 0)), waiting_for=why) for name, why in STATES]


def progress(session: Session, *, campaign_id: int) -> Progress:
    # Leases that lapsed while nobody asked for a clip still count as held
    # until a sweep: sweep now, or an idle campaign shows work in progress.
    reclaim_expired(session)
    campaign = get_campaign(session, campaign_id)
    c = CampaignClip
    ordinary = ~c.is_gold
    complete = sa.and_(ordinary, sa.or_(c.closed, c.done >= c.wanted))
    started = sa.and_(ordinary, ~sa.or_(c.closed, c.done >= c.wanted), c.active + c.done > 0)

    def count_if(cond):
        return func.coalesce(func.sum(sa.case((cond, 1), else_=0)), 0)

    row = session.exec(select(
        count_if(ordinary), count_if(c.is_gold), count_if(complete), count_if(started),
        func.coalesce(func.sum(sa.case((ordinary, c.done), else_=0)), 0), func.coalesce(func.sum(c.active), 0),
    ).where(c.campaign_id == campaign_id)).one()
    clips, gold, done, in_progress, votes, leases = (int(v) for v in row)
    hour_ago = utcnow() - timedelta(hours=1)
    # Both counts in one statement and under one rule (passes are no labels):
    # the last hour can never show more than the total.
    labels, last_hour = (int(v) for v in session.exec(select(
        func.count(), func.coalesce(func.sum(sa.case((Annotation.created_at >= hour_ago, 1), else_=0)), 0),
    ).where(Annotation.campaign_id == campaign_id, is_label())).one())
    annotators = int(session.exec(select(func.count()).select_from(CampaignMember)
                                  .where(CampaignMember.campaign_id == campaign_id)).one())
    return Progress(clips=clips, gold=gold, complete=done, in_progress=in_progress,
                    remaining=max(0, clips - done - in_progress), votes=votes, leases=leases, labels=labels,
                    labels_last_hour=last_hour, annotators=annotators,
                    states=clip_states(session, campaign_id=campaign_id, overlap=campaign.overlap))
