"""Qualification on gold clips, rolling gold accuracy, pausing, reinstating."""
from __future__ import annotations

from tests.labeling.conftest import label, next_clip

GOLD = {i: "Happy" for i in range(5)}


def _answer_all(client, campaign_id, h, n, expression):
    got = []
    for _ in range(n):
        lease = next_clip(client, campaign_id, h).json()
        got.append(lease["clip_id"])
        assert label(client, h, lease["assignment_id"], expression).status_code == 201
    return got


def _stats(client, h, campaign_id):
    r = client.get("/api/v1/me/stats", headers=h, params={"campaign_id": campaign_id})
    assert r.status_code == 200, r.text
    return r.json()[0]


def test_a_new_annotator_qualifies_on_gold_first(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(10, gold=GOLD, qualification_clips=3, qualification_accuracy=0.6)
    gold_ids = {clips[i].id for i in GOLD}
    s = _stats(client, ann_h, campaign.id)
    assert s["qualified"] is False and s["qualification_needed"] == 3
    got = _answer_all(client, campaign.id, ann_h, 3, "Happy")
    assert set(got) <= gold_ids
    s = _stats(client, ann_h, campaign.id)
    assert s["qualified"] and s["gold_answered"] == 3 and s["gold_accuracy"] == 1.0
    assert next_clip(client, campaign.id, ann_h).status_code == 200


def test_failing_qualification_pauses_with_a_clear_message(client, session, make_campaign, ann, ann_h, admin_h):
    campaign, _ = make_campaign(10, gold=GOLD, qualification_clips=3, qualification_accuracy=0.6)
    _answer_all(client, campaign.id, ann_h, 3, "Sad")
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 403
    assert "paused" in r.json()["detail"] and "0 of 3" in r.json()["detail"] and "reinstate" in r.json()["detail"]
    s = _stats(client, ann_h, campaign.id)
    assert s["paused"] and s["message"]
    table = client.get(f"/api/v1/campaigns/{campaign.id}/annotators", headers=admin_h).json()
    assert [(row["email"], row["paused"]) for row in table] == [(ann.email, True)]
    r = client.post(f"/api/v1/campaigns/{campaign.id}/annotators/{ann.id}/reinstate", headers=admin_h)
    assert r.status_code == 200 and r.json()["paused"] is False and r.json()["qualified"] is True
    assert next_clip(client, campaign.id, ann_h).status_code == 200


def test_reinstating_is_for_admins(client, session, make_campaign, ann, ann_h):
    campaign, _ = make_campaign(1)
    r = client.post(f"/api/v1/campaigns/{campaign.id}/annotators/{ann.id}/reinstate", headers=ann_h)
    assert r.status_code == 403


def test_too_few_gold_clips_do_not_block_forever(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(6, gold={0: "Happy", 1: "Sad"}, qualification_clips=10)
    got = _answer_all(client, campaign.id, ann_h, 2, "Happy")  # one right, one wrong
    assert set(got) == {clips[0].id, clips[1].id}
    r = next_clip(client, campaign.id, ann_h)
    # 1 of 2 right is below the 60% needed: judged on the gold there is.
    assert r.status_code == 403 and "1 of 2" in r.json()["detail"]


def test_too_few_gold_clips_answered_well_let_you_through(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(6, gold={0: "Happy", 1: "Happy"}, qualification_clips=10)
    _answer_all(client, campaign.id, ann_h, 2, "Happy")
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 200 and r.json()["clip_id"] not in {clips[0].id, clips[1].id}
    assert _stats(client, ann_h, campaign.id)["qualified"] is True


def test_no_gold_at_all_lets_everyone_through(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(2, qualification_clips=5)
    assert next_clip(client, campaign.id, ann_h).status_code == 200


def test_rolling_accuracy_below_the_bar_pauses(client, session, make_campaign, ann_h):
    campaign, clips = make_campaign(12, gold={i: "Happy" for i in range(8)}, gold_rate=1.0, rolling_window=4,
                                    pause_accuracy=0.5)
    _answer_all(client, campaign.id, ann_h, 3, "Sad")  # a window of 4 is not full yet
    assert next_clip(client, campaign.id, ann_h).status_code == 200
    lease = next_clip(client, campaign.id, ann_h).json()
    label(client, ann_h, lease["assignment_id"], "Sad")
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 403 and "fell to 0%" in r.json()["detail"]


def test_a_pause_releases_the_clips_held(client, session, make_campaign, ann_h):
    from tests.factories.users import bearer, make_user

    campaign, clips = make_campaign(2, gold={0: "Happy"}, gold_rate=1.0, rolling_window=1, pause_accuracy=0.5,
                                    overlap=1)
    on_screen = next_clip(client, campaign.id, ann_h).json()
    preloaded = next_clip(client, campaign.id, ann_h, exclude=[on_screen["assignment_id"]]).json()
    assert (on_screen["clip_id"], preloaded["clip_id"]) == (clips[0].id, clips[1].id)
    label(client, ann_h, on_screen["assignment_id"], "Sad")  # wrong on gold: paused
    assert next_clip(client, campaign.id, ann_h).status_code == 403
    # The preloaded clip is not stuck with them until its lease would end.
    other = bearer(session, make_user(session))
    gold = next_clip(client, campaign.id, other).json()  # gold first, at gold_rate 1
    assert next_clip(client, campaign.id, other, exclude=[gold["assignment_id"]]).json()["clip_id"] == clips[1].id


def test_own_stats_without_campaign_lists_open_campaigns(client, session, make_campaign, ann_h):
    campaign, _ = make_campaign(1)
    lease = next_clip(client, campaign.id, ann_h).json()
    label(client, ann_h, lease["assignment_id"])
    stats = client.get("/api/v1/me/stats", headers=ann_h).json()
    assert [(s["campaign_id"], s["labels"]) for s in stats] == [(campaign.id, 1)]
