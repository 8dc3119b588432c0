"""Campaigns (create, list, tune) and gold answers."""
from __future__ import annotations

from sqlmodel import select

from app.clips.models import GoldAnswer
from app.labeling.models import CampaignClip
from tests.factories.clips import make_clip, make_clips, scene_id
from tests.labeling.conftest import csrf_of, fresh, login


def _pool(session, campaign_id):
    fresh(session)
    return session.exec(select(CampaignClip).where(CampaignClip.campaign_id == campaign_id)).all()


def test_creating_a_campaign_fills_its_pool_from_its_scenes(client, session, admin_h):
    daily = make_clips(session, 3, scene="DailyLife")
    make_clips(session, 2, scene="Interview")
    session.add(GoldAnswer(clip_id=daily[0].id, expression="Happy"))
    session.commit()
    body = {"name": "Daily life, round 1", "scene_ids": [scene_id(session, "DailyLife")], "overlap": 3,
            "gold_rate": 0.05, "lease_seconds": 600, "assisted": True, "qualification_clips": 10,
            "qualification_accuracy": 0.6}
    r = client.post("/api/v1/campaigns", headers=admin_h, json=body)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["overlap"] == 3 and out["max_overlap"] >= 3 and out["status"] == "active"
    assert out["progress"]["clips"] == 2 and out["progress"]["gold"] == 1
    rows = _pool(session, out["id"])
    assert sorted(r.clip_id for r in rows) == sorted(c.id for c in daily)
    assert {r.clip_id for r in rows if r.is_gold} == {daily[0].id}
    assert all(r.wanted == 3 for r in rows)
    everything = client.post("/api/v1/campaigns", headers=admin_h, json={"name": "All scenes"}).json()
    assert everything["progress"]["clips"] + everything["progress"]["gold"] == 5


def test_campaign_input_errors_are_clear(client, session, admin_h):
    r = client.post("/api/v1/campaigns", headers=admin_h, json={"name": "x", "scene_ids": [9999]})
    assert r.status_code == 422 and "Unknown scene id(s): 9999" in r.json()["detail"]
    r = client.post("/api/v1/campaigns", headers=admin_h, json={"name": "x", "overlap": 0})
    assert r.status_code == 422 and "overlap" in r.json()["detail"]
    r = client.post("/api/v1/campaigns", headers=admin_h, json={"name": "", "gold_rate": 2})
    assert r.status_code == 422
    assert client.patch("/api/v1/campaigns/999", headers=admin_h, json={"name": "y"}).status_code == 404


def test_only_admins_create_and_tune(client, session, ann_h, make_campaign):
    assert client.post("/api/v1/campaigns", headers=ann_h, json={"name": "x"}).status_code == 403
    campaign, _ = make_campaign(1)
    assert client.patch(f"/api/v1/campaigns/{campaign.id}", headers=ann_h, json={"overlap": 5}).status_code == 403
    assert client.post("/api/v1/campaigns", json={"name": "x"}).status_code == 401


def test_admin_in_the_browser_needs_csrf(client, session, admin):
    login(client, admin)
    assert client.post("/api/v1/campaigns", json={"name": "x"}).status_code == 403
    r = client.post("/api/v1/campaigns", json={"name": "x"}, headers={"X-CSRF-Token": csrf_of(client, "/admin")})
    assert r.status_code == 201


def test_annotators_see_open_campaigns_only(client, session, make_campaign, admin_h, ann_h):
    open_, _ = make_campaign(1, name="open")
    closed, _ = make_campaign(0, name="closed")
    client.patch(f"/api/v1/campaigns/{closed.id}", headers=admin_h, json={"status": "closed"})
    assert [c["name"] for c in client.get("/api/v1/campaigns", headers=ann_h).json()] == ["open"]
    assert [c["name"] for c in client.get("/api/v1/campaigns", headers=admin_h).json()] == ["open", "closed"]
    assert client.get(f"/api/v1/campaigns/{closed.id}", headers=ann_h).status_code == 404
    assert client.get(f"/api/v1/campaigns/{open_.id}", headers=ann_h).json()["progress"]["clips"] == 1


def test_patch_retunes_the_pool_and_picks_up_new_clips(client, session, make_campaign, admin_h):
    campaign, clips = make_campaign(2, overlap=2)
    late = make_clip(session)
    r = client.patch(f"/api/v1/campaigns/{campaign.id}", headers=admin_h, json={"overlap": 4, "assisted": True})
    assert r.status_code == 200 and r.json()["overlap"] == 4 and r.json()["max_overlap"] >= 4
    rows = _pool(session, campaign.id)
    assert {r.clip_id for r in rows} == {c.id for c in clips} | {late.id}
    assert all(r.wanted == 4 for r in rows)
    r = client.patch(f"/api/v1/campaigns/{campaign.id}", headers=admin_h, json={"max_overlap": 2})
    assert r.status_code == 422 and "max_overlap" in r.json()["detail"]


def test_marking_gold(client, session, make_campaign, admin_h, ann_h):
    campaign, clips = make_campaign(2)
    r = client.post(f"/api/v1/clips/{clips[1].id}/gold", headers=admin_h, json={"expression": "surprise"})
    assert r.status_code == 201 and r.json() == {"clip_id": clips[1].id, "expression": "Surprise"}
    r = client.post(f"/api/v1/clips/{clips[1].id}/gold", headers=admin_h, json={"expression": "Fear"})
    assert r.status_code == 200 and r.json()["expression"] == "Fear"
    fresh(session)
    assert session.exec(select(GoldAnswer.expression).where(GoldAnswer.clip_id == clips[1].id)).all() == ["Fear"]
    assert {r.clip_id for r in _pool(session, campaign.id) if r.is_gold} == {clips[1].id}
    assert client.post(f"/api/v1/clips/{clips[0].id}/gold", headers=admin_h,
                       json={"expression": "Bored"}).status_code == 422
    assert client.post("/api/v1/clips/99999/gold", headers=admin_h, json={"expression": "Fear"}).status_code == 404
    assert client.post(f"/api/v1/clips/{clips[0].id}/gold", headers=ann_h,
                       json={"expression": "Fear"}).status_code == 403
    assert client.delete(f"/api/v1/clips/{clips[1].id}/gold", headers=admin_h).status_code == 204
    assert not any(r.is_gold for r in _pool(session, campaign.id))
