"""Agreement (Fleiss' κ, Krippendorff's α) and annotator quality from stored votes."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from app.consensus import quality, runs
from app.consensus.agreement import fleiss_kappa, krippendorff_alpha
from app.core.db import utcnow
from tests.consensus_db.conftest import add_vote
from tests.factories.clips import make_clip

# Hand-made: c1..c3 in DailyLife, c4 in Interview; annotators a, b, c.
VOTES = {
    "c1": ["Happy", "Happy", "Happy"],
    "c2": ["Happy", "Happy", "Sad"],
    "c3": ["Sad", "Sad", "Sad"],
    "c4": ["Angry", "Sad"],
}


@pytest.fixture
def example(session, make_campaign, crowd):
    campaign, clips = make_campaign(3)
    c4 = make_clip(session, scene="Interview")
    ids = {"c1": clips[0].id, "c2": clips[1].id, "c3": clips[2].id, "c4": c4.id}
    people = [u for u, _ in crowd(3)]
    for name, labels in VOTES.items():
        for user, label in zip(people, labels):
            add_vote(session, campaign, ids[name], user, label, duration_ms=10_000)
    # Noise that agreement must ignore: a pass and a vote a batch discarded.
    add_vote(session, campaign, ids["c4"], people[2], None, flags=["pass"])
    extra = make_clip(session, scene="Interview")
    add_vote(session, campaign, extra.id, people[0], "Fear", flags=["excluded"])
    add_vote(session, campaign, extra.id, people[1], "Happy", flags=["excluded"])
    session.commit()
    return campaign, ids, people


def test_fleiss_kappa_by_hand(session, example):
    out = quality.agreement(session)
    # P_i = 1, 1/3, 1, 0 -> mean 7/12; p = (5, 5, 1)/11 -> P_e = 51/121.
    expected = (7 / 12 - 51 / 121) / (1 - 51 / 121)
    assert out["overall"]["items"] == 4 and out["overall"]["votes"] == 11
    assert out["overall"]["fleiss_kappa"] == pytest.approx(expected, abs=1e-4)
    assert out["overall"]["fleiss_kappa"] == pytest.approx(0.2798, abs=1e-4)
    counts = np.array([[0, 0, 0, 3, 0, 0, 0], [0, 0, 0, 2, 0, 1, 0], [0, 0, 0, 0, 0, 3, 0], [1, 0, 0, 0, 0, 1, 0]])
    assert out["overall"]["krippendorff_alpha"] == pytest.approx(krippendorff_alpha(counts), abs=1e-4)
    scenes = {s["scene"]: s for s in out["per_scene"]}
    assert set(scenes) == {"DailyLife", "Interview"}
    assert scenes["DailyLife"]["items"] == 3
    assert scenes["DailyLife"]["fleiss_kappa"] == pytest.approx(fleiss_kappa(counts[:3]), abs=1e-4)


def test_kappa_per_expression_as_in_fleiss_1971(session, example):
    per = {e["expression"]: e for e in quality.agreement(session)["per_expression"]}
    # kappa_j = 1 - sum_i n_ij (n_i - n_ij) / (n_i (n_i - 1)) / (N p_j q_j), N = 4 items
    assert per["Happy"]["fleiss_kappa"] == pytest.approx(1 - (1 / 3) / (4 * 5 / 11 * 6 / 11), abs=1e-4)
    assert per["Sad"]["fleiss_kappa"] == pytest.approx(1 - (1 / 3 + 1 / 2) / (4 * 5 / 11 * 6 / 11), abs=1e-4)
    assert per["Angry"]["fleiss_kappa"] == pytest.approx(1 - (1 / 2) / (4 * 1 / 11 * 10 / 11), abs=1e-4)
    assert per["Fear"]["fleiss_kappa"] is None and per["Happy"]["votes"] == 5


def test_agreement_api(client, session, example, reviewer_h, admin_h):
    r = client.get("/api/v1/consensus/agreement", headers=reviewer_h)
    assert r.status_code == 200 and r.json()["overall"]["fleiss_kappa"] == pytest.approx(0.2798, abs=1e-4)
    campaign, _, _ = example
    assert client.get(f"/api/v1/consensus/agreement?campaign_id={campaign.id}", headers=reviewer_h).status_code == 200


def test_annotator_quality(client, session, make_campaign, crowd, admin_h):
    campaign, clips = make_campaign(4, gold={0: "Happy", 1: "Sad"})
    (good, _), (bad, bad_h) = crowd(2)
    t0 = utcnow() - timedelta(hours=1)
    for user, answers in [(good, ["Happy", "Sad", "Fear", "Fear"]), (bad, ["Sad", "Sad", "Angry", "Fear"])]:
        for j, (clip, ans) in enumerate(zip(clips, answers)):
            gold = {0: "Happy", 1: "Sad"}.get(j)
            add_vote(session, campaign, clip.id, user, ans, is_gold=gold is not None,
                     gold_correct=(ans == gold) if gold else None, duration_ms=30_000,
                     created_at=t0 + timedelta(minutes=j))
    session.commit()
    runs.run_consensus(session, method="ds")
    r = client.get("/api/v1/consensus/annotators", headers=admin_h)
    assert r.status_code == 200, r.text
    rows = {x["user_id"]: x for x in r.json()}
    assert rows[good.id]["gold_accuracy"] == 1.0 and rows[bad.id]["gold_accuracy"] == 0.5
    assert rows[good.id]["gold_answered"] == 2 and rows[good.id]["votes"] == 4
    assert rows[good.id]["labels_per_hour"] == pytest.approx(120.0)  # 4 labels in 2 minutes of work
    assert 0 <= rows[bad.id]["reliability"] < rows[good.id]["reliability"] <= 1
    assert client.get("/api/v1/consensus/annotators", headers=bad_h).status_code == 403
