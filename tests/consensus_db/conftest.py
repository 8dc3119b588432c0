"""Shared set-up for the consensus engine on the database: people, campaigns
and votes cast through the labelling API (next clip → submit)."""
from __future__ import annotations

import pytest
from sqlmodel import select

from app.clips.models import GoldAnswer
from app.consensus.models import ConsensusLabel
from app.labeling import service as labelling
from app.labeling.models import Annotation, Assignment, AssignmentStatus, CampaignClip, CampaignCreate
from app.users.models import Role
from tests.factories.clips import make_clips
from tests.factories.users import bearer, make_user


@pytest.fixture
def crowd(session):
    """n annotators as (user, bearer headers)."""

    def make(n: int):
        people = [make_user(session, Role.annotator) for _ in range(n)]
        return [(u, bearer(session, u)) for u in people]

    return make


@pytest.fixture
def make_campaign(session):
    """A campaign over new clips; no qualification or gold mixing unless asked."""

    def make(n_clips: int = 1, *, gold: dict[int, str] | None = None, scene: str = "DailyLife", **settings):
        clips = make_clips(session, n_clips, scene=scene)
        for i, expr in (gold or {}).items():
            session.add(GoldAnswer(clip_id=clips[i].id, expression=expr))
        session.commit()
        defaults = {"overlap": 3, "max_overlap": 5, "min_votes": 3, "trust_threshold": 0.9, "gold_rate": 0.0,
                    "qualification_clips": 0, "assisted": False}
        data = CampaignCreate(name=settings.pop("name", "Consensus test"), **{**defaults, **settings})
        return labelling.create_campaign(session, data=data), clips

    return make


def vote(client, campaign_id: int, headers: dict, expression: str | None = "Happy", *, clip_id: int | None = None,
         flags: list[str] | None = None, duration_ms: int | None = None) -> dict:
    """Fetch the next clip and label it; returns the annotation's JSON."""
    r = client.get(f"/api/v1/campaigns/{campaign_id}/next", headers=headers)
    assert r.status_code == 200, r.text
    deal = r.json()
    if clip_id is not None:
        assert deal["clip_id"] == clip_id, (deal, clip_id)
    body = {"assignment_id": deal["assignment_id"], "flags": flags or []}
    if expression:
        body["expression"] = expression
    if duration_ms is not None:
        body["duration_ms"] = duration_ms
    r = client.post("/api/v1/annotations", headers=headers, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def live(session, clip_id: int) -> ConsensusLabel | None:
    session.commit()  # see what the app wrote through its own sessions
    session.expire_all()
    return session.exec(select(ConsensusLabel).where(ConsensusLabel.run_id.is_(None),
                                                     ConsensusLabel.clip_id == clip_id)).first()


def pool_row(session, campaign_id: int, clip_id: int) -> CampaignClip:
    session.commit()
    session.expire_all()
    return session.exec(select(CampaignClip).where(CampaignClip.campaign_id == campaign_id,
                                                   CampaignClip.clip_id == clip_id)).one()


def add_vote(session, campaign, clip_id: int, user, expression: str | None = None, *, flags: list[str] | None = None,
             is_gold: bool = False, gold_correct: bool | None = None, duration_ms: int | None = None,
             created_at=None) -> Annotation:
    """A finished lease and its vote, written directly (no pool counters, no
    hook): for tests of what is computed from stored votes."""
    from datetime import timedelta

    from app.core.db import utcnow

    now = created_at or utcnow()
    lease = Assignment(campaign_id=campaign.id, clip_id=clip_id, user_id=user.id, is_gold=is_gold,
                       status=AssignmentStatus.done, created_at=now, expires_at=now + timedelta(minutes=10),
                       completed_at=now)
    session.add(lease)
    session.flush()
    ann = Annotation(assignment_id=lease.id, campaign_id=campaign.id, clip_id=clip_id, user_id=user.id,
                     expression=expression, flags=flags or [], is_gold=is_gold, gold_correct=gold_correct,
                     duration_ms=duration_ms, created_at=now)
    session.add(ann)
    session.flush()
    return ann
