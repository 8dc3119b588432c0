"""Disputed clips settle (issue 12, defect 1): a clip that needs a vote the
campaign can no longer give it goes to expert review at once, and a change
of settings, or someone leaving, decides the open clips again."""
from __future__ import annotations

import sqlalchemy as sa

from app.consensus.models import LabelStatus
from app.labeling.models import Assignment
from tests.consensus_db.conftest import live, pool_row

AGREE = ["Happy", "Happy", "Happy"]
DISAGREE = ["Happy", "Sad", "Angry"]


def _finish(client, campaign_id, h, plan: dict[int, str]) -> int:
    """Label until nothing is left; `plan`: clip id -> this annotator's answer."""
    n = 0
    while (r := client.get(f"/api/v1/campaigns/{campaign_id}/next", headers=h)).status_code == 200:
        deal = r.json()
        body = {"assignment_id": deal["assignment_id"], "expression": plan[deal["clip_id"]]}
        assert client.post("/api/v1/annotations", headers=h, json=body).status_code == 201
        n += 1
    assert r.status_code == 204, r.text
    return n


def _plans(clips, disputed: set[int], voters: int = 3) -> list[dict[int, str]]:
    return [{c.id: (DISAGREE if i in disputed else AGREE)[k] for i, c in enumerate(clips)} for k in range(voters)]


def test_three_annotators_finish_and_every_disputed_clip_is_in_review(client, session, make_campaign, crowd,
                                                                      admin_h, reviewer_h):
    # The defaults of a new campaign: 3 votes per clip, up to 7 adaptive.
    campaign, clips = make_campaign(10, overlap=3, max_overlap=7)
    disputed = {1, 4, 5, 8}
    people = crowd(3)
    for (_, h), plan in zip(people, _plans(clips, disputed)):
        assert _finish(client, campaign.id, h, plan) == 10
    for i, clip in enumerate(clips):
        row = live(session, clip.id)
        assert row.status == (LabelStatus.review if i in disputed else LabelStatus.trusted), (i, row.status)
        assert pool_row(session, campaign.id, clip.id).closed
    queue = client.get("/api/v1/review/queue", headers=reviewer_h, params={"flagged": "false"}).json()
    assert sorted(item["clip_id"] for item in queue["items"]) == sorted(clips[i].id for i in disputed)
    progress = client.get(f"/api/v1/campaigns/{campaign.id}", headers=admin_h).json()["progress"]
    states = {s["state"]: s["clips"] for s in progress["states"]}
    assert states["expert review"] == 4 and states["trusted"] == 6
    assert states["disputed"] == states["planned votes"] == states["being labelled"] == 0
    assert progress["in_progress"] == 0


def _three_of_four_disagree(client, make_campaign, crowd, **settings):
    campaign, clips = make_campaign(1, overlap=3, max_overlap=7, **settings)
    people = crowd(4)
    for (_, h), plan in zip(people[:3], _plans(clips, {0})):
        _finish(client, campaign.id, h, plan)
    return campaign, clips[0], people


def test_a_disputed_clip_waits_while_someone_may_still_vote(client, session, make_campaign, crowd):
    campaign, clip, people = _three_of_four_disagree(client, make_campaign, crowd)
    assert live(session, clip.id).status == LabelStatus.needs_votes
    cc = pool_row(session, campaign.id, clip.id)
    assert (cc.wanted, cc.closed) == (4, False)


def test_lowering_at_most_sends_the_waiting_clip_to_review(client, session, make_campaign, crowd, admin_h):
    campaign, clip, _ = _three_of_four_disagree(client, make_campaign, crowd)
    r = client.patch(f"/api/v1/campaigns/{campaign.id}", headers=admin_h, json={"max_overlap": 3})
    assert r.status_code == 200, r.text
    assert live(session, clip.id).status == LabelStatus.review
    cc = pool_row(session, campaign.id, clip.id)
    assert cc.closed and cc.wanted == 3
    states = {s["state"]: s["clips"] for s in r.json()["progress"]["states"]}
    assert states["expert review"] == 1 and states["disputed"] == 0


def test_the_last_possible_voter_paused_sends_it_to_review(client, session, make_campaign, crowd, admin_h):
    campaign, clip, people = _three_of_four_disagree(client, make_campaign, crowd)
    last = people[3][0]
    r = client.patch(f"/api/v1/users/{last.id}", headers=admin_h, json={"paused": True})
    assert r.status_code == 200, r.text
    assert live(session, clip.id).status == LabelStatus.review


def test_the_last_possible_voter_letting_the_lease_lapse_sends_it_to_review(client, session, make_campaign,
                                                                            crowd, monkeypatch):
    from app.labeling import dealer

    monkeypatch.setattr(dealer, "RECLAIM_EVERY_S", 0.0)  # sweep on the next call, not a second later
    campaign, clip, people = _three_of_four_disagree(client, make_campaign, crowd)
    h = people[3][1]
    deal = client.get(f"/api/v1/campaigns/{campaign.id}/next", headers=h).json()
    assert deal["clip_id"] == clip.id
    session.execute(sa.update(Assignment).where(Assignment.id == deal["assignment_id"])
                    .values(expires_at=Assignment.created_at))
    session.commit()
    assert client.get(f"/api/v1/campaigns/{campaign.id}/next", headers=h).status_code == 204  # the sweep runs
    assert live(session, clip.id).status == LabelStatus.review


def test_a_clip_waiting_for_planned_votes_from_nobody_goes_to_review(client, session, make_campaign, crowd):
    # Two annotators, three votes planned: the third vote can never come.
    campaign, clips = make_campaign(2, overlap=3, max_overlap=7)
    people = crowd(2)
    for (_, h), plan in zip(people, _plans(clips, set(), voters=2)):
        _finish(client, campaign.id, h, plan)
    assert [live(session, c.id).status for c in clips] == [LabelStatus.review] * 2
