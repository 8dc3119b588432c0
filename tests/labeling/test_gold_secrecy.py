"""Gold answers stay secret: probing a gold clip through submit → read the
record → undo → try the next expression learns nothing and qualifies nobody
(issue 10, defect 2)."""
from __future__ import annotations

import re

import sqlalchemy as sa

from app.labeling.models import Assignment
from tests.factories.users import browser_login
from tests.labeling.conftest import fresh, label, next_clip

EXPRESSIONS = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]


def _stats(client, h, campaign_id) -> dict:
    r = client.get("/api/v1/me/stats", headers=h, params={"campaign_id": campaign_id})
    assert r.status_code == 200, r.text
    return r.json()[0]


def _fragment(client, campaign_id) -> str:
    """The labelling page's own-record panel (cookie session)."""
    r = client.get(f"/annotate/{campaign_id}/stats", headers={"HX-Request": "true"})
    assert r.status_code == 200, r.text
    return re.sub(r'value="[^"]*"', "", r.text)


def _admin_row(client, admin_h, campaign_id, user_id) -> dict:
    rows = client.get(f"/api/v1/campaigns/{campaign_id}/annotators", headers=admin_h).json()
    return next(r for r in rows if r["user_id"] == user_id)


def test_probing_gold_with_submit_and_undo_learns_nothing_and_does_not_qualify(
        client, session, make_campaign, ann, ann_h, admin_h):
    campaign, clips = make_campaign(8, gold={0: "Happy", 1: "Sad", 2: "Fear"}, qualification_clips=3,
                                    qualification_accuracy=0.6)
    browser_login(client, ann)
    before = _stats(client, ann_h, campaign.id)
    probed = 0
    for _ in range(3):
        deal = next_clip(client, campaign.id, ann_h)
        if deal.status_code != 200:
            break  # paused: the qualification was decided
        deal = deal.json()
        seen = set()
        for expression in EXPRESSIONS:
            r = label(client, ann_h, deal["assignment_id"], expression)
            if r.status_code != 201:
                break  # the lease ended (a pause releases held clips)
            stats, page = _stats(client, ann_h, campaign.id), _fragment(client, campaign.id)
            gold_view = {k: stats[k] for k in ("gold_answered", "gold_correct", "gold_accuracy", "rolling_accuracy",
                                               "qualified", "paused", "qualification_needed", "message")}
            seen.add((repr(sorted(gold_view.items())), page))
            probed += 1
            if expression == EXPRESSIONS[-1]:
                break  # learned nothing: leave the last try standing, go on
            if client.delete(f"/api/v1/annotations/{r.json()['id']}", headers=ann_h).status_code != 200:
                break
        # Whatever expression was tried, the annotator saw the same thing.
        assert len(seen) <= 1, seen
    assert probed >= 14  # two gold clips probed with every expression
    # Each first answer ("Angry") was wrong and final: 0 of 3, not qualified.
    row = _admin_row(client, admin_h, campaign.id, ann.id)
    assert (row["gold_answered"], row["gold_correct"], row["qualified"], row["paused"]) == (3, 0, False, True)
    assert next_clip(client, campaign.id, ann_h).status_code == 403
    after = _stats(client, ann_h, campaign.id)
    assert before["qualified"] is False and after["qualified"] is False and after["paused"] is True


def test_undo_never_changes_a_gold_result(client, session, make_campaign, ann, ann_h, admin_h):
    campaign, clips = make_campaign(6, gold={0: "Happy"}, gold_rate=1.0)
    deal = next_clip(client, campaign.id, ann_h).json()
    assert deal["clip_id"] == clips[0].id
    first = label(client, ann_h, deal["assignment_id"], "Sad")  # wrong
    assert client.delete(f"/api/v1/annotations/{first.json()['id']}", headers=ann_h).status_code == 200
    row = _admin_row(client, admin_h, campaign.id, ann.id)
    assert (row["gold_answered"], row["gold_correct"]) == (1, 0)  # the undo kept the attempt
    again = label(client, ann_h, deal["assignment_id"], "Happy")  # right, but not the first answer
    assert again.status_code == 201
    row = _admin_row(client, admin_h, campaign.id, ann.id)
    assert (row["gold_answered"], row["gold_correct"]) == (1, 0)
    fresh(session)
    lease = session.get(Assignment, deal["assignment_id"])
    assert lease.gold_result is False
    from app.labeling.models import Annotation

    stored = session.exec(sa.select(Annotation.gold_correct).where(Annotation.assignment_id == lease.id)).scalar()
    assert stored is False  # batch checks read the first answer's result too


def test_passing_every_gold_clip_does_not_qualify(client, session, make_campaign, ann, ann_h):
    campaign, _ = make_campaign(6, gold={0: "Happy", 1: "Sad"}, qualification_clips=2)
    for _ in range(2):
        deal = next_clip(client, campaign.id, ann_h).json()
        assert label(client, ann_h, deal["assignment_id"], None, flags=["pass"]).status_code == 201
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 403 and "0 of 2" in r.json()["detail"]


def test_gold_left_to_expire_counts_as_a_wrong_attempt(client, session, make_campaign, ann, ann_h):
    campaign, clips = make_campaign(6, gold={0: "Happy", 1: "Sad"}, qualification_clips=3)
    skipped = next_clip(client, campaign.id, ann_h).json()
    session.execute(sa.update(Assignment).where(Assignment.id == skipped["assignment_id"])
                    .values(expires_at=Assignment.created_at))
    session.commit()
    deal = next_clip(client, campaign.id, ann_h).json()
    assert deal["clip_id"] != skipped["clip_id"]
    answer = {clips[0].id: "Happy", clips[1].id: "Sad"}[deal["clip_id"]]
    assert label(client, ann_h, deal["assignment_id"], answer).status_code == 201
    # No gold left: decided on 1 right of 2 dealt (50 % < 60 %), not 1 of 1.
    r = next_clip(client, campaign.id, ann_h)
    assert r.status_code == 403 and "1 of 2" in r.json()["detail"]


def test_the_annotator_sees_gold_accuracy_in_blocks_and_the_admin_live(client, session, make_campaign, ann, ann_h,
                                                                        admin_h):
    from app.labeling import quality

    n = quality.GOLD_BLOCK
    campaign, _ = make_campaign(n + 3, gold={i: "Happy" for i in range(n + 1)}, gold_rate=1.0)
    for i in range(n + 1):
        deal = next_clip(client, campaign.id, ann_h).json()
        assert label(client, ann_h, deal["assignment_id"], "Happy" if i != 1 else "Sad").status_code == 201
        mine = _stats(client, ann_h, campaign.id)
        live = _admin_row(client, admin_h, campaign.id, ann.id)
        assert (live["gold_answered"], live["gold_correct"]) == (i + 1, i + (i < 1))
        if i + 1 < n:
            assert (mine["gold_answered"], mine["gold_correct"], mine["gold_accuracy"]) == (0, 0, None)
        else:  # the block of n is complete; the attempt after it does not show yet
            assert (mine["gold_answered"], mine["gold_correct"]) == (n, n - 1)
            assert mine["gold_block"] == n
