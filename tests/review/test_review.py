"""Expert review: the queue, decisions that override the consensus, the page."""
from __future__ import annotations

import re

import pytest
from sqlmodel import func, select

from app.consensus.models import LabelStatus
from app.consensus.trusted import trusted_labels
from app.review.models import Review
from tests.consensus_db.conftest import live, pool_row, vote
from tests.factories.clips import add_prediction
from tests.factories.users import browser_login


@pytest.fixture
def disputed(client, session, make_campaign, crowd):
    """Two clips the crowd could not settle (max_overlap 3): status review."""
    campaign, clips = make_campaign(2, overlap=3, max_overlap=3)
    add_prediction(session, clips[0].id, {"Sad": 0.7, "Happy": 0.2, "Angry": 0.1})
    people = crowd(3)
    for (_, h), expr in zip(people, ["Happy", "Sad", "Angry"]):
        vote(client, campaign.id, h, expr)
        vote(client, campaign.id, h, expr)
    for c in clips:
        assert live(session, c.id).status == LabelStatus.review
    return campaign, clips, people


def test_queue_lists_clips_in_review_with_votes_and_ranking(client, disputed, reviewer_h):
    campaign, clips, _ = disputed
    r = client.get("/api/v1/review/queue", headers=reviewer_h)
    assert r.status_code == 200
    body = r.json()
    assert body["total"] == 2
    item = next(i for i in body["items"] if i["clip_id"] == clips[0].id)
    assert item["status"] == "review" and item["histogram"] == {"Happy": 1, "Sad": 1, "Angry": 1}
    assert item["preview_url"] == f"/media/clips/{clips[0].id}/preview.mp4"
    assert item["ranking"][0] == {"expression": "Sad", "p": 0.7}
    assert "high_entropy" in item["flags"]


def test_review_overrides_the_consensus_and_closes_the_clip(client, session, disputed, reviewer_h, reviewer):
    campaign, clips, _ = disputed
    r = client.post(f"/api/v1/clips/{clips[0].id}/review", headers=reviewer_h,
                    json={"decision": "label", "expression": "sad", "reason": "clear frown"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["expression"] == "Sad" and body["reviewer_id"] == reviewer.id and body["reason"] == "clear frown"
    c = client.get(f"/api/v1/clips/{clips[0].id}/consensus", headers=reviewer_h).json()
    assert c["status"] == "trusted" and c["label"] == "Sad" and c["review"]["decision"] == "label"
    row = live(session, clips[0].id)
    assert row.status == LabelStatus.trusted and row.label == "Sad"
    assert pool_row(session, campaign.id, clips[0].id).closed
    assert trusted_labels(session, [clips[0].id]) == {clips[0].id: "Sad"}
    assert client.get("/api/v1/review/queue", headers=reviewer_h).json()["total"] == 1

    r = client.post(f"/api/v1/clips/{clips[1].id}/review", headers=reviewer_h,
                    json={"decision": "reject", "reason": "two faces in the crop"})
    assert r.status_code == 201
    assert live(session, clips[1].id).status == LabelStatus.rejected
    assert trusted_labels(session, [clips[1].id]) == {}
    assert client.get("/api/v1/review/queue", headers=reviewer_h).json()["total"] == 0


def test_a_later_vote_does_not_undo_a_review(client, session, disputed, reviewer_h):
    from app.consensus import service
    from app.labeling.models import Campaign

    campaign, clips, _ = disputed
    client.post(f"/api/v1/clips/{clips[0].id}/review", headers=reviewer_h,
                json={"decision": "label", "expression": "Fear", "reason": ""})
    session.commit()  # a fresh snapshot before writing (SQLite)
    service.refresh_clip(session, clip_id=clips[0].id, campaign=session.get(Campaign, campaign.id))
    session.commit()
    row = live(session, clips[0].id)
    assert row.status == LabelStatus.trusted and row.label == "Fear"


def test_review_input_errors(client, session, disputed, reviewer_h):
    campaign, clips, people = disputed
    url = f"/api/v1/clips/{clips[0].id}/review"
    r = client.post(url, headers=reviewer_h, json={"decision": "label", "expression": "Joy", "reason": ""})
    assert r.status_code == 422 and "not an expression" in r.json()["detail"]
    assert client.post(url, headers=reviewer_h, json={"decision": "label", "reason": "x"}).status_code == 422
    r = client.post(url, headers=reviewer_h, json={"decision": "reject", "reason": " "})
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    assert client.post(url, headers=reviewer_h, json={"decision": "maybe", "reason": "x"}).status_code == 422
    assert client.post("/api/v1/clips/99999/review", headers=reviewer_h,
                       json={"decision": "reject", "reason": "x"}).status_code == 404
    r = client.post(url, headers=people[0][1], json={"decision": "reject", "reason": "x"})
    assert r.status_code == 403
    assert client.get("/api/v1/review/queue", headers=people[0][1]).status_code == 403
    assert client.post(url, json={"decision": "reject", "reason": "x"}).status_code == 401
    session.commit()
    assert session.exec(select(func.count()).select_from(Review)).one() == 0


def test_review_page_and_htmx_decision(client, session, disputed, reviewer):
    campaign, clips, people = disputed
    browser_login(client, reviewer)
    page = client.get("/review")
    assert page.status_code == 200
    assert f'src="/media/clips/{clips[0].id}/preview.mp4"' in page.text
    assert f'hx-post="/review/{clips[0].id}"' in page.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    # Without the CSRF token: refused.
    r = client.post(f"/review/{clips[0].id}", data={"decision": "label", "expression": "Happy"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 403
    r = client.post(f"/review/{clips[0].id}", data={"decision": "reject", "reason": ""},
                    headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 200 and "reason" in r.text and 'class="error"' in r.text
    r = client.post(f"/review/{clips[0].id}", data={"decision": "label", "expression": "Happy", "reason": "smile"},
                    headers={"HX-Request": "true", "X-CSRF-Token": token})
    assert r.status_code == 200 and "labelled <b>Happy</b>" in r.text
    assert live(session, clips[0].id).label == "Happy"
    # Annotators do not see the page; the nav link is for reviewers.
    client.cookies.clear()
    browser_login(client, people[0][0])
    assert client.get("/review", follow_redirects=False).status_code == 403


def test_admin_consensus_page(client, session, disputed, admin):
    browser_login(client, admin)
    page = client.get("/admin/consensus")
    assert page.status_code == 200
    assert "Recompute all labels" in page.text and "Fleiss" in page.text and "in review" in page.text
    token = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)
    r = client.post("/admin/consensus/runs", data={"method": "ds", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    from sqlmodel import select

    from app.jobs.models import Job

    session.commit()
    assert session.exec(select(Job).where(Job.kind == "consensus")).first() is not None
