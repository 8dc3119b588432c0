"""A small labelled instance built the way people build one: votes through
the labelling API, decisions through the review API."""
from __future__ import annotations

import pytest

from app.datasets import live
from tests.consensus_db.conftest import crowd, make_campaign  # noqa: F401
from tests.factories.clips import make_clip

# Clip index in the campaign → the expression every annotator gives it
# (None: the three annotators disagree).
PLAN = ["Happy", "Happy", "Sad", "Angry", "Neutral", "Sad", None]
SPLIT_VOTES = ["Happy", "Sad", "Angry"]


def cast(client, campaign_id: int, headers: dict, choose) -> None:
    while True:
        r = client.get(f"/api/v1/campaigns/{campaign_id}/next", headers=headers)
        assert r.status_code in (200, 204), r.text
        if r.status_code == 204 or not r.content or r.json() is None:
            return
        deal = r.json()
        r = client.post("/api/v1/annotations", headers=headers,
                        json={"assignment_id": deal["assignment_id"], "expression": choose(deal["clip_id"])})
        assert r.status_code == 201, r.text


@pytest.fixture(autouse=True)
def _fresh_live_figures(monkeypatch):
    live.clear()
    monkeypatch.setattr(live, "MIN_AGE_S", 0.0)
    yield
    live.clear()


@pytest.fixture
def labelled(session, client, crowd, make_campaign, reviewer_h):  # noqa: F811
    """7 voted clips in DailyLife (6 unanimous, 1 split), one clip without
    votes in Interview; then a reviewer labels the split one Fear and rejects
    the last unanimous one. Returns (clips, campaign)."""
    campaign, clips = make_campaign(len(PLAN), scene="DailyLife")
    idx = {c.id: i for i, c in enumerate(clips)}
    for n, (_, h) in enumerate(crowd(3)):
        cast(client, campaign.id, h, lambda cid, n=n: PLAN[idx[cid]] or SPLIT_VOTES[n])
    extra = make_clip(session, scene="Interview")
    r = client.post(f"/api/v1/clips/{clips[6].id}/review", headers=reviewer_h,
                    json={"decision": "label", "expression": "Fear", "reason": "clear fear"})
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/clips/{clips[5].id}/review", headers=reviewer_h,
                    json={"decision": "reject", "reason": "two faces"})
    assert r.status_code == 201, r.text
    session.commit()
    return clips + [extra], campaign
