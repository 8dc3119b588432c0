"""POST /api/v1/annotations and its undo."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.core.db import utcnow
from app.labeling.models import Annotation, Assignment, CampaignClip, CampaignMember
from tests.factories.users import bearer, make_user
from tests.labeling.conftest import csrf_of, fresh, label, login, next_clip


def _cc(session, campaign_id, clip_id):
    fresh(session)
    return session.exec(select(CampaignClip).where(CampaignClip.campaign_id == campaign_id,
                                                   CampaignClip.clip_id == clip_id)).one()


def _member(session, campaign_id, user_id):
    fresh(session)
    return session.exec(select(CampaignMember).where(CampaignMember.campaign_id == campaign_id,
                                                     CampaignMember.user_id == user_id)).one()


def test_a_label_is_stored_and_counted(client, session, make_campaign, ann, ann_h):
    campaign, _ = make_campaign(2)
    lease = next_clip(client, campaign.id, ann_h).json()
    r = label(client, ann_h, lease["assignment_id"], "happy", descriptor="cheerful", duration_ms=1800)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["expression"] == "Happy" and body["descriptor"] == "Cheerful"  # the taxonomy's spelling
    assert body["duration_ms"] == 1800 and body["labels_done"] == 1
    cc = _cc(session, campaign.id, lease["clip_id"])
    assert (cc.active, cc.done) == (0, 1)
    assert session.get(Assignment, lease["assignment_id"]).status == "done"
    assert _member(session, campaign.id, ann.id).labels == 1


def test_a_retry_returns_the_same_record(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(1)
    lease = next_clip(client, campaign.id, ann_h).json()
    first = label(client, ann_h, lease["assignment_id"], "Sad")
    again = label(client, ann_h, lease["assignment_id"], "Sad")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert len(session.exec(select(Annotation)).all()) == 1
    assert _cc(session, campaign.id, lease["clip_id"]).done == 1


def test_someone_elses_assignment_is_not_found(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(1)
    lease = next_clip(client, campaign.id, ann_h).json()
    intruder = bearer(session, make_user(session))
    r = label(client, intruder, lease["assignment_id"])
    assert r.status_code == 404 and "not yours" in r.json()["detail"]
    assert label(client, ann_h, 424242).status_code == 404


def test_expired_lease_is_refused_with_a_clear_message(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(1)
    lease = next_clip(client, campaign.id, ann_h).json()
    row = session.get(Assignment, lease["assignment_id"])
    row.expires_at = utcnow() - timedelta(seconds=5)
    session.add(row)
    session.commit()
    r = label(client, ann_h, lease["assignment_id"])
    assert r.status_code == 409
    assert "ran out" in r.json()["detail"] and "not saved" in r.json()["detail"]
    assert session.exec(select(Annotation)).first() is None


def test_bad_expressions_flags_and_bodies_are_422(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(1)
    aid = next_clip(client, campaign.id, ann_h).json()["assignment_id"]
    cases = [
        ({"expression": "Contempt"}, "not an expression"),
        ({"expression": "Happy", "descriptor": "Furious"}, "not a descriptor of Happy"),
        ({"flags": ["boring"]}, "not a flag"),
        ({}, "Choose an expression"),
        ({"descriptor": "Calm"}, "needs its expression"),
        ({"expression": "Happy", "flags": ["pass"]}, "passed clip has no expression"),
        ({"expression": "Happy", "duration_ms": -5}, "duration_ms"),
    ]
    for extra, words in cases:
        r = client.post("/api/v1/annotations", headers=ann_h, json={"assignment_id": aid, **extra})
        assert r.status_code == 422 and words in r.json()["detail"], (extra, r.text)
    r = client.post("/api/v1/annotations", headers=ann_h, json={"assignment_id": "abc"})
    assert r.status_code == 422
    r = client.post("/api/v1/annotations", headers={**ann_h, "Content-Type": "application/json"}, content=b"{not json")
    assert r.status_code == 422
    assert session.exec(select(Annotation)).first() is None


def test_flags_without_expression(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(1, overlap=1)
    lease = next_clip(client, campaign.id, ann_h).json()
    r = label(client, ann_h, lease["assignment_id"], None, flags=["not_a_face"])
    assert r.status_code == 201 and r.json()["flags"] == ["not_a_face"] and r.json()["expression"] is None
    assert _cc(session, campaign.id, clips[0].id).done == 1  # a vote about the clip


def test_a_pass_frees_the_slot_for_someone_else(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(1, overlap=1)
    lease = next_clip(client, campaign.id, ann_h).json()
    r = label(client, ann_h, lease["assignment_id"], None, flags=["pass"])
    assert r.status_code == 201 and r.json()["labels_done"] == 0
    cc = _cc(session, campaign.id, clips[0].id)
    assert (cc.active, cc.done) == (0, 0)
    other = bearer(session, make_user(session))
    assert next_clip(client, campaign.id, other).json()["clip_id"] == clips[0].id
    assert next_clip(client, campaign.id, ann_h).status_code == 204  # never the same clip twice


def test_undo_retracts_the_vote_and_the_clip_can_be_relabelled(client, session, make_campaign, ann, ann_h):
    campaign, _ = make_campaign(2)
    lease = next_clip(client, campaign.id, ann_h).json()
    first = label(client, ann_h, lease["assignment_id"], "Fear").json()
    r = client.delete(f"/api/v1/annotations/{first['id']}", headers=ann_h)
    assert r.status_code == 200, r.text
    assert r.json()["assignment_id"] == lease["assignment_id"] and r.json()["clip_id"] == lease["clip_id"]
    assert session.get(Annotation, first["id"]) is None
    fresh(session)
    assert session.get(Assignment, lease["assignment_id"]).status == "active"
    cc = _cc(session, campaign.id, lease["clip_id"])
    assert (cc.active, cc.done) == (1, 0)
    assert _member(session, campaign.id, ann.id).labels == 0
    # The page asks again: the same clip comes back (reload-safe), relabelled.
    assert next_clip(client, campaign.id, ann_h).json()["assignment_id"] == lease["assignment_id"]
    again = label(client, ann_h, lease["assignment_id"], "Surprise")
    assert again.status_code == 201 and again.json()["expression"] == "Surprise"
    cc = _cc(session, campaign.id, lease["clip_id"])
    assert (cc.active, cc.done) == (0, 1)


def test_undo_only_by_its_author_once_and_while_the_lease_lasts(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(2)
    lease = next_clip(client, campaign.id, ann_h).json()
    ann_id = label(client, ann_h, lease["assignment_id"]).json()["id"]
    other = bearer(session, make_user(session))
    assert client.delete(f"/api/v1/annotations/{ann_id}", headers=other).status_code == 404
    row = session.get(Assignment, lease["assignment_id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    r = client.post(f"/api/v1/annotations/{ann_id}/undo", headers=ann_h)
    assert r.status_code == 409 and "label stands" in r.json()["detail"]
    assert session.get(Annotation, ann_id) is not None  # never silently lost
    lease2 = next_clip(client, campaign.id, ann_h).json()
    ann2 = label(client, ann_h, lease2["assignment_id"]).json()["id"]
    assert client.post(f"/api/v1/annotations/{ann2}/undo", headers=ann_h).status_code == 200
    assert client.post(f"/api/v1/annotations/{ann2}/undo", headers=ann_h).status_code == 404


def _fake_consensus(monkeypatch, calls, *, fail=False):
    from app.consensus import service as mod

    def on_annotation(session, *, annotation, campaign):
        # Inside the vote's transaction: the annotation is already visible.
        assert session.get(Annotation, annotation.id) is not None
        calls.append(("vote", annotation.id, annotation.expression, campaign.id))
        if fail:
            raise RuntimeError("consensus broke")

    def on_annotation_undone(session, *, annotation, campaign):
        calls.append(("undo", annotation.id, annotation.expression, campaign.id))

    monkeypatch.setattr(mod, "on_annotation", on_annotation)
    monkeypatch.setattr(mod, "on_annotation_undone", on_annotation_undone)


def test_the_consensus_hook_sees_each_vote_and_undo(client, session, make_campaign, ann_h, monkeypatch):
    calls = []
    _fake_consensus(monkeypatch, calls)
    campaign, _ = make_campaign(1)
    lease = next_clip(client, campaign.id, ann_h).json()
    ann_id = label(client, ann_h, lease["assignment_id"], "Angry").json()["id"]
    client.delete(f"/api/v1/annotations/{ann_id}", headers=ann_h)
    assert calls == [("vote", ann_id, "Angry", campaign.id), ("undo", ann_id, "Angry", campaign.id)]


def test_a_failing_consensus_hook_leaves_no_half_vote(session, make_campaign, ann, monkeypatch):
    from fastapi.testclient import TestClient

    from app.main import create_app

    calls = []
    _fake_consensus(monkeypatch, calls, fail=True)
    campaign, clips = make_campaign(1)
    client = TestClient(create_app(), raise_server_exceptions=False)
    h = bearer(session, ann)
    lease = next_clip(client, campaign.id, h).json()
    assert label(client, h, lease["assignment_id"]).status_code == 500
    assert session.exec(select(Annotation)).first() is None
    cc = _cc(session, campaign.id, clips[0].id)
    assert (cc.active, cc.done) == (1, 0)
    fresh(session)
    assert session.get(Assignment, lease["assignment_id"]).status == "active"


def test_browser_writes_need_the_csrf_token(client, session, make_campaign, ann):
    campaign, _ = make_campaign(1)
    token = login(client, ann)
    lease = client.get(f"/api/v1/campaigns/{campaign.id}/next").json()  # cookie auth, a read
    body = {"assignment_id": lease["assignment_id"], "expression": "Happy"}
    r = client.post("/api/v1/annotations", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = client.post("/api/v1/annotations", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 201
    assert client.delete(f"/api/v1/annotations/{r.json()['id']}").status_code == 403
    assert client.delete(f"/api/v1/annotations/{r.json()['id']}", headers={"X-CSRF-Token": csrf_of(client)}).status_code == 200


def test_unauthenticated_writes_are_401(client, session, make_campaign):
    assert client.post("/api/v1/annotations", json={"assignment_id": 1, "expression": "Happy"}).status_code == 401
