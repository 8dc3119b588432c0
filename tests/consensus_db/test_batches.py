"""FERV39k's batch rule: POST /api/v1/campaigns/{id}/batches/evaluate."""
from __future__ import annotations

from sqlmodel import select

from app.consensus.models import LabelStatus
from app.jobs.models import Job
from app.labeling.models import Annotation
from tests.consensus_db.conftest import add_vote, live, pool_row, vote

GOLD = {i: "Happy" for i in range(5)}


def _setup(client, session, make_campaign, crowd, right: int):
    """Clip 5 is ordinary and gets three agreeing votes through the API; the
    last voter also answered the five gold clips, `right` of them correctly."""
    campaign, clips = make_campaign(6, gold=GOLD)
    people = crowd(4)  # the fourth may replace a discarded vote
    for _, h in people[:3]:
        vote(client, campaign.id, h, "Sad", clip_id=clips[5].id)
    user = people[2][0]
    for i in range(5):
        ans = "Happy" if i < right else "Angry"
        add_vote(session, campaign, clips[i].id, user, ans, is_gold=True, gold_correct=ans == "Happy")
    session.commit()
    assert live(session, clips[5].id).status == LabelStatus.trusted
    return campaign, clips, user


def _evaluate(client, admin_h, campaign, user, clips):
    return client.post(f"/api/v1/campaigns/{campaign.id}/batches/evaluate", headers=admin_h,
                       json={"user_id": user.id, "clip_ids": [c.id for c in clips]})


def test_batch_at_80_percent_is_accepted(client, session, make_campaign, crowd, admin_h):
    campaign, clips, user = _setup(client, session, make_campaign, crowd, right=4)
    r = _evaluate(client, admin_h, campaign, user, clips)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["action"] == "accept" and body["gold_correct"] == 4 and body["gold_total"] == 5
    assert live(session, clips[5].id).status == LabelStatus.trusted
    job = session.get(Job, body["decision_id"])
    assert job.kind == "batch" and job.result["action"] == "accept" and job.params["user_id"] == user.id


def test_batch_between_40_and_80_goes_to_review(client, session, make_campaign, crowd, admin_h):
    campaign, clips, user = _setup(client, session, make_campaign, crowd, right=2)
    body = _evaluate(client, admin_h, campaign, user, clips).json()
    assert body["action"] == "expert_review" and body["to_review"] == 1
    row = live(session, clips[5].id)
    assert row.status == LabelStatus.review and "batch_review" in row.flags
    assert pool_row(session, campaign.id, clips[5].id).closed
    # Later votes do not lift it out of review: only a reviewer can.
    from app.consensus import service
    from app.labeling.models import Campaign

    service.refresh_clip(session, clip_id=clips[5].id, campaign=session.get(Campaign, campaign.id))
    session.commit()
    assert live(session, clips[5].id).status == LabelStatus.review


def test_batch_below_40_is_discarded_and_dealt_again(client, session, make_campaign, crowd, admin_h):
    campaign, clips, user = _setup(client, session, make_campaign, crowd, right=1)
    body = _evaluate(client, admin_h, campaign, user, clips).json()
    assert body["action"] == "discard" and body["excluded"] == 6
    session.commit()
    session.expire_all()
    mine = session.exec(select(Annotation).where(Annotation.user_id == user.id)).all()
    assert all("excluded" in a.flags for a in mine)
    row = live(session, clips[5].id)
    assert row.status == LabelStatus.needs_votes and row.votes == 2
    cc = pool_row(session, campaign.id, clips[5].id)
    assert not cc.closed and cc.wanted == 4  # one more annotator replaces the discarded vote
    again = _evaluate(client, admin_h, campaign, user, clips)
    assert again.status_code == 422 and "discarded already" in again.json()["detail"]


def test_batch_input_errors(client, session, make_campaign, crowd, admin_h):
    campaign, clips = make_campaign(1)
    ((user, h),) = crowd(1)
    url = f"/api/v1/campaigns/{campaign.id}/batches/evaluate"
    assert client.post(url, headers=admin_h, json={"user_id": user.id}).status_code == 422
    assert client.post(url, headers=admin_h, json={"user_id": 9999, "clip_ids": [1]}).status_code == 404
    assert client.post("/api/v1/campaigns/999/batches/evaluate", headers=admin_h,
                       json={"user_id": user.id, "clip_ids": [1]}).status_code == 404
    r = client.post(url, headers=admin_h, json={"user_id": user.id, "clip_ids": [clips[0].id]})
    assert r.status_code == 422 and "No votes" in r.json()["detail"]
    assert client.post(url, headers=h, json={"user_id": user.id, "clip_ids": [1]}).status_code == 403
