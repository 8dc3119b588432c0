"""GET /api/v1/campaigns/{id}/next: the assignment engine's rules."""
from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from app.core.db import utcnow
from app.labeling import pool
from app.labeling.models import Assignment, CampaignClip
from app.users.models import Role
from tests.factories.clips import add_prediction
from tests.factories.users import bearer, make_user
from tests.labeling.conftest import fresh, label, next_clip


def _pool(session, campaign_id):
    fresh(session)
    return {cc.clip_id: cc for cc in session.exec(select(CampaignClip).where(CampaignClip.campaign_id == campaign_id))}


def test_next_deals_a_lease_with_a_media_url(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(2)
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"assignment_id", "clip_id", "media_url", "expires_at", "ranking"}
    assert body["clip_id"] in {c.id for c in clips}
    assert body["media_url"] == f"/media/clips/{body['clip_id']}/preview.mp4"
    assert body["ranking"] is None  # a blind campaign
    assert _pool(session, campaign.id)[body["clip_id"]].active == 1


def test_reload_returns_the_same_lease_and_exclude_gives_the_one_after(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(4)
    first = next_clip(client, campaign.id, ann_h).json()
    again = next_clip(client, campaign.id, ann_h).json()
    assert again["assignment_id"] == first["assignment_id"]
    second = next_clip(client, campaign.id, ann_h, exclude=[first["assignment_id"]]).json()
    assert second["clip_id"] != first["clip_id"]
    # Reloading the page with both held: the older first, then the other.
    assert next_clip(client, campaign.id, ann_h).json()["assignment_id"] == first["assignment_id"]
    assert next_clip(client, campaign.id, ann_h, exclude=[first["assignment_id"]]).json()["assignment_id"] == \
        second["assignment_id"]
    # A third lease is refused: the page only ever needs two.
    r = next_clip(client, campaign.id, ann_h, exclude=[first["assignment_id"], second["assignment_id"]])
    assert r.status_code == 409 and "label one of them first" in r.json()["detail"]


def test_a_clip_goes_to_at_most_overlap_annotators(client, session, make_campaign):
    campaign, clips = make_campaign(1, overlap=2)
    heads = [bearer(session, make_user(session)) for _ in range(3)]
    a = next_clip(client, campaign.id, heads[0])
    b = next_clip(client, campaign.id, heads[1])
    assert a.status_code == b.status_code == 200
    assert next_clip(client, campaign.id, heads[2]).status_code == 204
    assert _pool(session, campaign.id)[clips[0].id].priority == pool.FULL


def test_never_the_same_clip_twice_to_one_annotator(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(3, overlap=3)
    seen = []
    while (r := next_clip(client, campaign.id, ann_h)).status_code == 200:
        seen.append(r.json()["clip_id"])
        assert label(client, ann_h, r.json()["assignment_id"]).status_code == 201
    assert r.status_code == 204
    assert sorted(seen) == sorted(c.id for c in clips)


def test_expired_lease_goes_back_to_the_pool(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(1, overlap=1)
    lease = next_clip(client, campaign.id, ann_h).json()
    other = bearer(session, make_user(session))
    assert next_clip(client, campaign.id, other).status_code == 204
    row = session.get(Assignment, lease["assignment_id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    r = next_clip(client, campaign.id, other)
    assert r.status_code == 200 and r.json()["clip_id"] == clips[0].id
    fresh(session)
    assert session.get(Assignment, lease["assignment_id"]).status == "expired"
    assert _pool(session, campaign.id)[clips[0].id].active == 1  # the new lease only
    late = label(client, ann_h, lease["assignment_id"])
    assert late.status_code == 409 and "ran out" in late.json()["detail"]


def test_started_clips_come_before_fresh_ones(client, session, make_campaign):
    campaign, clips = make_campaign(4, overlap=2)
    h1, h2 = (bearer(session, make_user(session)) for _ in range(2))
    got = next_clip(client, campaign.id, h1).json()
    label(client, h1, got["assignment_id"])
    # Fresh clips have lower ids than nothing; the started one still wins.
    assert next_clip(client, campaign.id, h2).json()["clip_id"] == got["clip_id"]


def test_a_lone_annotator_goes_on_past_their_own_started_clips(client, session, make_campaign, ann_h,
                                                               monkeypatch):
    from app.labeling import dealer

    # Their labelled clips wait for others' votes at the top of the deal
    # order; with a window of 2 the dealer looks past them to fresh clips.
    monkeypatch.setattr(dealer, "WINDOW", 2)
    campaign, clips = make_campaign(6, overlap=2)
    # Someone who may still give the second votes (else each voted clip
    # would go to review: nobody left to vote on it).
    other = bearer(session, make_user(session))
    seen = []
    while (r := next_clip(client, campaign.id, ann_h)).status_code == 200:
        seen.append(r.json()["clip_id"])
        label(client, ann_h, r.json()["assignment_id"])
    assert sorted(seen) == sorted(c.id for c in clips)
    assert next_clip(client, campaign.id, other).json()["clip_id"] in sorted(seen)[-2:]  # started, in the window


def test_passed_clips_do_not_hide_the_fresh_ones(client, session, make_campaign, ann_h, monkeypatch):
    from app.labeling import dealer

    monkeypatch.setattr(dealer, "WINDOW", 2)
    campaign, clips = make_campaign(5, overlap=1)
    for _ in range(3):  # the three newest come back fresh, but not for this annotator
        label(client, ann_h, next_clip(client, campaign.id, ann_h).json()["assignment_id"], None, flags=["pass"])
    got = next_clip(client, campaign.id, ann_h)
    assert got.status_code == 200 and got.json()["clip_id"] in {clips[0].id, clips[1].id}


def test_clips_the_consensus_wants_more_votes_for_come_first(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(4, overlap=1)
    assert pool.request_more_votes(session, campaign_id=campaign.id, clip_id=clips[3].id)
    session.commit()
    assert next_clip(client, campaign.id, ann_h).json()["clip_id"] == clips[3].id
    cc = _pool(session, campaign.id)[clips[3].id]
    assert cc.wanted == 2 and cc.priority == pool.MORE


def test_nothing_left_answers_204(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(0)
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 204 and r.content == b""


def test_unknown_or_closed_campaign(client, session, make_campaign, ann_h, admin_h):
    assert next_clip(client, 999, ann_h).status_code == 404
    campaign, _ = make_campaign(1)
    client.patch(f"/api/v1/campaigns/{campaign.id}", headers=admin_h, json={"status": "paused"})
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 409 and "paused" in r.json()["detail"]


def test_gold_is_mixed_in_at_roughly_the_gold_rate(client, session, make_campaign, ann_h):
    import random

    random.seed(7)
    campaign, clips = make_campaign(160, overlap=1, gold_rate=0.25, gold={i: "Happy" for i in range(60)})
    gold_ids = {c.id for c in clips[:60]}
    got = []
    for _ in range(80):
        r = next_clip(client, campaign.id, ann_h)
        got.append(r.json()["clip_id"])
        label(client, ann_h, r.json()["assignment_id"])
    rate = sum(c in gold_ids for c in got) / len(got)
    assert 0.12 <= rate <= 0.40, rate


def test_gold_clips_look_like_any_other(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(2, overlap=1, gold_rate=1.0, gold={0: "Sad"})
    first = next_clip(client, campaign.id, ann_h).json()
    assert first["clip_id"] == clips[0].id  # gold first at rate 1
    label(client, ann_h, first["assignment_id"])
    second = next_clip(client, campaign.id, ann_h).json()
    assert set(first) == set(second)
    assert first["media_url"].replace(str(first["clip_id"]), "X") == second["media_url"].replace(
        str(second["clip_id"]), "X")


def test_assisted_campaign_shows_the_newest_ranking(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(1, assisted=True)
    add_prediction(session, clips[0].id, {"happy": 0.1, "sad": 0.6, "neutral": 0.3},
                   created_at=utcnow() - timedelta(minutes=5))
    add_prediction(session, clips[0].id, {"happy": 0.7, "sad": 0.1, "neutral": 0.2})
    lease = next_clip(client, campaign.id, ann_h).json()
    assert [r["expression"] for r in lease["ranking"]] == ["Happy", "Neutral", "Sad"]
    assert lease["ranking"][0]["p"] == 0.7
    ann = label(client, ann_h, lease["assignment_id"]).json()
    assert ann["assisted"] is True


def test_blind_campaign_never_shows_a_ranking(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(1, assisted=False)
    add_prediction(session, clips[0].id, {"happy": 0.9, "sad": 0.1})
    lease = next_clip(client, campaign.id, ann_h).json()
    assert lease["ranking"] is None
    assert label(client, ann_h, lease["assignment_id"]).json()["assisted"] is False


def test_assisted_campaign_without_prediction_has_no_ranking(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(1, assisted=True)
    lease = next_clip(client, campaign.id, ann_h).json()
    assert lease["ranking"] is None
    assert label(client, ann_h, lease["assignment_id"]).json()["assisted"] is False


def test_clips_ingested_later_join_the_pool(client, session, make_campaign, ann_h, monkeypatch):
    from app.labeling import dealer
    from app.labeling.service import add_clips_to_campaigns
    from tests.factories.clips import make_clip

    campaign, _ = make_campaign(0)
    other, _ = make_campaign(0, name="Interview only", scene_ids=[_scene(session, "Interview")])
    clip = make_clip(session)
    assert add_clips_to_campaigns(session, [clip.id]) == 1  # DailyLife: not the Interview campaign
    session.commit()
    assert next_clip(client, campaign.id, ann_h).json()["clip_id"] == clip.id
    # Without the ingest call, an empty pool looks for new clips (throttled).
    late = make_clip(session)
    monkeypatch.setattr(dealer, "REFILL_EVERY_S", 0.0)
    r = next_clip(client, campaign.id, ann_h, exclude=[next_clip(client, campaign.id, ann_h).json()["assignment_id"]])
    assert r.status_code == 200 and r.json()["clip_id"] == late.id
    assert next_clip(client, other.id, ann_h).status_code == 204


def _scene(session, name):
    from tests.factories.clips import scene_id

    return scene_id(session, name)


def test_annotator_role_is_enough_but_login_is_needed(client, session, make_campaign):
    campaign, _ = make_campaign(1)
    assert next_clip(client, campaign.id, {}).status_code == 401
    reviewer = bearer(session, make_user(session, Role.reviewer))
    assert next_clip(client, campaign.id, reviewer).status_code == 200


def test_progress_does_not_count_lapsed_leases_when_nobody_is_labelling(client, session, make_campaign, ann_h,
                                                                        admin_h):
    campaign, clips = make_campaign(2, overlap=1)
    lease = next_clip(client, campaign.id, ann_h).json()
    progress = client.get(f"/api/v1/campaigns/{campaign.id}", headers=admin_h).json()["progress"]
    assert progress["leases"] == 1 and progress["in_progress"] == 1
    row = session.get(Assignment, lease["assignment_id"])
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.add(row)
    session.commit()
    progress = client.get(f"/api/v1/campaigns/{campaign.id}", headers=admin_h).json()["progress"]
    assert progress["leases"] == 0 and progress["in_progress"] == 0 and progress["remaining"] == 2
