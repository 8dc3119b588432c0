"""Campaigns, gold answers, progress and annotator statistics.

The assignment engine is in dealer.py, votes and undo in votes.py, quality
control in quality.py, the pool's order in pool.py."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, func, select

from app.clips.models import Clip, GoldAnswer
from app.consensus import service as consensus
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound
from app.labeling import pool, quality
from app.labeling.dealer import get_campaign, not_open
from app.labeling.progress import is_label, progress  # noqa: F401 - progress: pages and the API read it here
from app.labeling.models import (Annotation, Campaign, CampaignClip, CampaignCreate, CampaignMember, CampaignStatus,
                                 CampaignUpdate)
from app.labeling.pool import add_clips_to_campaigns  # noqa: F401 - the ingest side's entry point
from app.labeling.schemas import AnnotatorRow, CampaignOut, MemberStats
from app.labeling.taxonomy_cache import check
from app.labeling.txn import write_transaction
from app.taxonomy.models import Scene
from app.users.models import ROLE_RANK, Role, User


# -- campaigns ---------------------------------------------------------------

def _check_scenes(session: Session, scene_ids: list[int]) -> list[int]:
    ids = sorted(set(scene_ids))
    if not ids:
        return []
    known = set(session.exec(select(Scene.id).where(Scene.id.in_(ids))).all())
    missing = [i for i in ids if i not in known]
    if missing:
        raise Invalid(f"Unknown scene id(s): {', '.join(map(str, missing))}. See GET /api/v1/taxonomy.")
    return ids


def create_campaign(session: Session, *, data: CampaignCreate) -> Campaign:
    """A campaign and its pool: every clip of its scenes (all scenes when
    scene_ids is empty)."""
    scene_ids = _check_scenes(session, data.scene_ids)
    campaign = Campaign(**data.model_dump(exclude={"scene_ids"}), scene_ids=scene_ids)
    with write_transaction(session):
        session.add(campaign)
        session.flush()
        pool.fill_pool(session, campaign=campaign)
    return campaign


def list_campaigns(session: Session, *, user: User) -> list[Campaign]:
    q = select(Campaign).order_by(Campaign.id)
    if ROLE_RANK[Role(user.role)] < ROLE_RANK[Role.reviewer]:
        q = q.where(Campaign.status == CampaignStatus.active)
    return list(session.exec(q).all())


def campaign_for(session: Session, *, campaign_id: int, user: User) -> Campaign:
    campaign = get_campaign(session, campaign_id)
    if campaign.status != CampaignStatus.active and ROLE_RANK[Role(user.role)] < ROLE_RANK[Role.reviewer]:
        raise not_open(campaign_id)
    return campaign


def campaigns_for(session: Session, *, user: User) -> list[Campaign]:
    """Campaigns an annotator can work on now."""
    return list(session.exec(select(Campaign).where(Campaign.status == CampaignStatus.active)
                             .order_by(Campaign.id)).all())


def update_campaign(session: Session, *, campaign_id: int, data: CampaignUpdate) -> Campaign:
    """Change settings; the pool follows (new overlap, clips ingested since)."""
    campaign = get_campaign(session, campaign_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    old_overlap = campaign.overlap
    for key, value in changes.items():
        setattr(campaign, key, value)
    if campaign.max_overlap < campaign.overlap:
        if "max_overlap" in changes:
            raise Invalid(f"max_overlap ({campaign.max_overlap}) must be at least overlap ({campaign.overlap}).")
        campaign.max_overlap = campaign.overlap
    with write_transaction(session):
        session.add(campaign)
        session.flush()
        pool.fill_pool(session, campaign=campaign)
        pool.cap_wanted(session, campaign=campaign)
        if campaign.overlap != old_overlap:
            pool.retarget(session, campaign=campaign, old_overlap=old_overlap)
        else:
            pool.normalise(session, campaign=campaign)
    # New thresholds or vote limits: every open clip is decided anew (one
    # waiting for a vote it can no longer get goes to review now).
    consensus.redecide_campaign(session, campaign_id=campaign.id)
    return campaign


def campaign_out(session: Session, campaign: Campaign, *, with_progress: bool = True) -> CampaignOut:
    # Attributes, not model_dump(): a table row holds its enums as plain strings.
    data = {name: getattr(campaign, name) for name in Campaign.model_fields}
    data["progress"] = progress(session, campaign_id=campaign.id) if with_progress else None
    return CampaignOut(**data)


# -- gold ----------------------------------------------------------------------

def mark_gold(session: Session, *, clip_id: int, expression: str, by: User) -> tuple[GoldAnswer, bool]:
    """An expert's answer for a clip; in every pool it becomes a gold clip.
    Returns (answer, created)."""
    if session.get(Clip, clip_id) is None:
        raise NotFound(f"Clip {clip_id} does not exist.")
    name, _ = check(session, expression)
    with write_transaction(session):
        answer = session.exec(select(GoldAnswer).where(GoldAnswer.clip_id == clip_id)).first()
        created = answer is None
        if created:
            answer = GoldAnswer(clip_id=clip_id, expression=name, created_by_id=by.id)
        else:
            answer.expression, answer.created_by_id, answer.created_at = name, by.id, utcnow()
        session.add(answer)
        session.execute(sa.update(CampaignClip).where(CampaignClip.clip_id == clip_id)
                        .values(is_gold=True, priority=pool.FRESH))
    return answer, created


GOLD_PAGE = 12


def gold_candidates(session: Session, *, campaign_id: int, offset: int = 0, limit: int = GOLD_PAGE,
                    clip_id: int | None = None) -> tuple[list[dict], int]:
    """A page of the campaign's clips for an expert to pick gold from (or
    the one `clip_id`): each with its gold answer (if any), its live crowd
    label and the model's top guess, to watch and decide. Returns (rows,
    total clips in the campaign)."""
    from app.benchmarks.models import Prediction
    from app.consensus.models import ConsensusLabel

    get_campaign(session, campaign_id)
    cc, L, P = CampaignClip.__table__.c, ConsensusLabel.__table__.c, Prediction.__table__.c
    total = session.exec(select(func.count()).select_from(CampaignClip)
                         .where(CampaignClip.campaign_id == campaign_id)).one()
    top = (sa.select(P.top).where(P.clip_id == cc.clip_id).order_by(P.created_at.desc(), P.id.desc()).limit(1)
           .scalar_subquery())
    rows = session.execute(
        sa.select(cc.clip_id, cc.done, GoldAnswer.__table__.c.expression.label("gold"), L.label, L.status,
                  L.confidence, top.label("model_top"), Scene.__table__.c.name.label("scene"))
        .select_from(CampaignClip.__table__
                     .join(Clip.__table__, Clip.__table__.c.id == cc.clip_id)
                     .join(Scene.__table__, Scene.__table__.c.id == Clip.__table__.c.scene_id)
                     .outerjoin(GoldAnswer.__table__, GoldAnswer.__table__.c.clip_id == cc.clip_id)
                     .outerjoin(ConsensusLabel.__table__, sa.and_(L.clip_id == cc.clip_id, L.run_id.is_(None))))
        .where(cc.campaign_id == campaign_id, *([cc.clip_id == clip_id] if clip_id is not None else []))
        .order_by(cc.clip_id).offset(max(0, offset)).limit(limit)).all()
    return [dict(r._mapping) for r in rows], int(total)


def unmark_gold(session: Session, *, clip_id: int) -> None:
    answer = session.exec(select(GoldAnswer).where(GoldAnswer.clip_id == clip_id)).first()
    if answer is None:
        raise NotFound(f"Clip {clip_id} is not a gold clip.")
    with write_transaction(session):
        session.delete(answer)
        session.execute(sa.update(CampaignClip).where(CampaignClip.clip_id == clip_id).values(is_gold=False))
        campaign_ids = session.exec(select(CampaignClip.campaign_id).where(CampaignClip.clip_id == clip_id)).all()
        for campaign in session.exec(select(Campaign).where(Campaign.id.in_(campaign_ids))).all():
            pool.normalise(session, campaign=campaign)


# -- progress and statistics ----------------------------------------------------

def _stats(campaign: Campaign, member: CampaignMember | None, user: User, *, live: bool = False) -> dict:
    """A member's standing; the gold record as the annotator may see it, or
    (`live`, for admins) as it stands."""
    if member is None:
        member = CampaignMember(campaign_id=campaign.id, user_id=user.id,
                                qualified=campaign.qualification_clips == 0)
    paused = member.paused or user.paused
    return {
        "campaign_id": campaign.id, "campaign": campaign.name, "labels": member.labels,
        **(quality.live_record(member) if live else quality.shown_record(member)),
        "gold_block": 1 if live else quality.GOLD_BLOCK, "qualified": member.qualified,
        "qualification_needed": 0 if member.qualified else max(0, campaign.qualification_clips - member.gold_answered),
        "paused": paused, "message": quality.pause_message(campaign, member, user) if paused else None,
    }


def member_stats(session: Session, *, user: User, campaign_id: int | None = None) -> list[MemberStats]:
    """The annotator's own standing, in one campaign or in every campaign
    they can work on or have worked on."""
    if campaign_id is not None:
        campaigns = [campaign_for(session, campaign_id=campaign_id, user=user)]
    else:
        mine = select(CampaignMember.campaign_id).where(CampaignMember.user_id == user.id)
        campaigns = list(session.exec(select(Campaign).where(
            sa.or_(Campaign.status == CampaignStatus.active, Campaign.id.in_(mine))).order_by(Campaign.id)).all())
    members = {m.campaign_id: m for m in session.exec(select(CampaignMember).where(
        CampaignMember.user_id == user.id, CampaignMember.campaign_id.in_([c.id for c in campaigns]))).all()}
    return [MemberStats(**_stats(c, members.get(c.id), user)) for c in campaigns]


def annotator_table(session: Session, *, campaign_id: int) -> list[AnnotatorRow]:
    campaign = get_campaign(session, campaign_id)
    hour_ago = utcnow() - timedelta(hours=1)
    # Counted like CampaignMember.labels (passes are no labels), so the two columns agree.
    recent = dict(session.exec(select(Annotation.user_id, func.count()).where(
        Annotation.campaign_id == campaign_id, Annotation.created_at >= hour_ago, is_label())
        .group_by(Annotation.user_id)).all())
    rows = session.exec(select(CampaignMember, User).join(User, User.id == CampaignMember.user_id)
                        .where(CampaignMember.campaign_id == campaign_id).order_by(User.email)).all()
    return [AnnotatorRow(**_stats(campaign, m, u, live=True), user_id=u.id, email=u.email,
                         labels_last_hour=int(recent.get(u.id, 0)), last_active=m.updated_at) for m, u in rows]


def reinstate(session: Session, *, campaign_id: int, user_id: int) -> CampaignMember:
    """An admin lets a paused annotator label again in this campaign."""
    campaign = get_campaign(session, campaign_id)
    if session.get(User, user_id) is None:
        raise NotFound(f"User {user_id} does not exist.")
    with write_transaction(session):
        member = quality.member_for_update(session, campaign=campaign, user_id=user_id)
        quality.reinstate(member)
        session.add(member)
    return member
