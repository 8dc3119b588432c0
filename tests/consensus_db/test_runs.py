"""Full consensus runs: versioned runs, frozen labels, live refresh, API, CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlmodel import select

from app.consensus import runs, service
from app.consensus.models import ConsensusLabel, ConsensusRun, LabelStatus
from app.core.errors import Invalid
from app.jobs.models import Job
from app.labeling.models import Annotation
from tests.consensus_db.conftest import live, pool_row, vote

PLAN = {  # clip index -> votes of annotators 0..2
    0: ["Happy", "Happy", "Happy"],
    1: ["Sad", "Sad", "Angry"],
    2: ["Fear", "Surprise", "Fear"],
}


@pytest.fixture
def voted(client, session, make_campaign, crowd):
    """Three clips with three votes each, cast through the labelling API."""
    campaign, clips = make_campaign(3, trust_threshold=0.99, max_overlap=7)
    people = crowd(3)
    for a, (_, h) in enumerate(people):
        for _ in clips:
            r = client.get(f"/api/v1/campaigns/{campaign.id}/next", headers=h).json()
            idx = [c.id for c in clips].index(r["clip_id"])
            body = {"assignment_id": r["assignment_id"], "expression": PLAN[idx][a]}
            assert client.post("/api/v1/annotations", headers=h, json=body).status_code == 201
    session.commit()
    return campaign, clips, people


def test_a_run_is_versioned_with_frozen_labels(session, voted):
    campaign, clips, people = voted
    first = runs.run_consensus(session, method="ds")
    session.expire_all()
    assert first.is_current and first.status == "done" and first.method == "ds"
    assert first.items == 3 and first.votes == 9 and first.seconds is not None
    assert set(first.model_state["workers"]) == {str(u.id) for u, _ in people}
    frozen = session.exec(select(ConsensusLabel).where(ConsensusLabel.run_id == first.id)).all()
    assert {r.clip_id: r.label for r in frozen} == {clips[0].id: "Happy", clips[1].id: "Sad", clips[2].id: "Fear"}
    second = runs.run_consensus(session, method="mv")
    session.expire_all()
    assert not session.get(ConsensusRun, first.id).is_current and session.get(ConsensusRun, second.id).is_current
    assert len(session.exec(select(ConsensusLabel).where(ConsensusLabel.run_id == first.id)).all()) == 3
    # Live labels are refreshed, one per clip.
    lives = session.exec(select(ConsensusLabel).where(ConsensusLabel.run_id.is_(None))).all()
    assert sorted(r.clip_id for r in lives) == sorted(c.id for c in clips)
    assert live(session, clips[0].id).status == LabelStatus.trusted
    cmp = runs.compare_runs(session, a=first.id, b=second.id)
    assert cmp["common"] == 3 and cmp["labels_differ"] == 0


def test_run_defaults_are_recorded(session, voted):
    campaign, clips, _ = voted
    run = runs.run_consensus(session, method="ds")
    assert run.params["settings"] == runs.RUN_DEFAULTS["ds"]
    # Three clips are little evidence under the calibrated default: more votes.
    assert live(session, clips[0].id).status == LabelStatus.needs_votes
    assert pool_row(session, campaign.id, clips[0].id).wanted == 4
    other = runs.run_consensus(session, method="ds", settings={"smoothing": 0.01})
    assert other.params["settings"] == {"smoothing": 0.01}


def test_the_fast_path_uses_the_current_runs_skills(session, voted):
    runs.run_consensus(session, method="ds")
    model = service.current_model(session)
    assert model.method == "ds" and len(model.worker_names) == 3
    session.rollback()


def test_run_refreshes_the_pool(session, voted):
    campaign, clips, _ = voted
    # The library's pseudo-count: on three clips the run default (0.5) is too
    # shy to trust anything, which test_run_defaults_are_recorded shows.
    runs.run_consensus(session, method="ds", settings={"smoothing": 0.01})
    cc = pool_row(session, campaign.id, clips[0].id)
    assert cc.closed  # unanimous: trusted
    states = {c.id: live(session, c.id).status for c in clips}
    for c in clips:
        cc = pool_row(session, campaign.id, c.id)
        if states[c.id] == LabelStatus.needs_votes:
            assert cc.wanted == 4 and not cc.closed
        else:
            assert cc.closed


def test_excluded_votes_do_not_count(session, voted):
    campaign, clips, _ = voted
    for ann in session.exec(select(Annotation).where(Annotation.clip_id == clips[0].id)).all()[:1]:
        ann.flags = ["excluded"]
        session.add(ann)
    session.commit()
    run = runs.run_consensus(session, method="mv")
    assert run.votes == 8
    assert live(session, clips[0].id).votes == 2


def test_a_run_needs_votes_of_two_annotators(session, client, make_campaign, crowd):
    with pytest.raises(Invalid, match="No expression votes"):
        runs.run_consensus(session, method="ds")
    campaign, (clip,) = make_campaign(1)
    ((_, h),) = crowd(1)
    vote(client, campaign.id, h, "Happy")
    with pytest.raises(Invalid, match="two"):
        runs.run_consensus(session, method="ds")
    session.commit()
    assert session.exec(select(ConsensusRun)).first() is None


def test_runs_api(client, session, voted, admin_h, reviewer_h):
    campaign, clips, people = voted
    r = client.post("/api/v1/consensus/runs", headers=admin_h, json={"method": "mv", "inline": True})
    assert r.status_code == 201, r.text
    body = r.json()
    assert {"id", "method", "items", "votes", "seconds", "is_current", "counts", "workers"} <= set(body)
    assert body["counts"]["trusted"] >= 1 and body["workers"] == 3
    r = client.post("/api/v1/consensus/runs", headers=admin_h, json={"method": "ds", "inline": True})
    assert r.status_code == 201
    second = r.json()["id"]
    listed = client.get("/api/v1/consensus/runs", headers=reviewer_h).json()
    assert [x["id"] for x in listed] == [second, body["id"]]
    one = client.get(f"/api/v1/consensus/runs/{second}?model=true", headers=reviewer_h).json()
    assert one["model_state"]["method"] == "ds" and one["params"]["settings"] == {"smoothing": 0.5}
    cmp = client.get(f"/api/v1/consensus/runs/compare?a={body['id']}&b={second}", headers=reviewer_h)
    assert cmp.status_code == 200 and cmp.json()["common"] == 3
    assert client.get("/api/v1/consensus/runs/999", headers=reviewer_h).status_code == 404
    bad = client.post("/api/v1/consensus/runs", headers=admin_h, json={"method": "nope"})
    assert bad.status_code == 422 and "choose one of" in bad.json()["detail"]
    assert client.post("/api/v1/consensus/runs", headers=people[0][1], json={"method": "ds"}).status_code == 403
    # Default: a queued job for the workers.
    r = client.post("/api/v1/consensus/runs", headers=admin_h, json={"method": "ds"})
    assert r.status_code == 202 and r.json()["kind"] == "consensus"
    session.commit()
    assert session.get(Job, r.json()["job_id"]).params == {"method": "ds"}
    status = client.get("/api/v1/consensus/status", headers=reviewer_h).json()
    assert set(status) == {"trusted", "needs_votes", "review", "rejected"} and sum(status.values()) == 3


def test_clip_consensus_api(client, session, voted, reviewer_h):
    campaign, clips, people = voted
    r = client.get(f"/api/v1/clips/{clips[0].id}/consensus", headers=reviewer_h)
    assert r.status_code == 200
    body = r.json()
    assert {"label", "posterior", "status", "votes", "flags"} <= set(body)
    assert body["label"] == "Happy" and body["votes"] == 3 and body["histogram"] == {"Happy": 3}
    assert set(body["posterior"]) == set(service.expression_names(session))
    assert client.get("/api/v1/clips/99999/consensus", headers=reviewer_h).status_code == 404
    assert client.get(f"/api/v1/clips/{clips[0].id}/consensus", headers=people[0][1]).status_code == 403


def fervlab(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=os.environ.copy())


def test_runner_and_cli(session, voted):
    from workers.jobs import runner_for

    seen = []
    out = runner_for("consensus")({"method": "onecoin"}, lambda f, s="": seen.append(f))
    assert out["method"] == "onecoin" and out["items"] == 3 and seen[-1] == 1.0
    res = fervlab("consensus", "--method", "ds", "--quiet")
    assert res.returncode == 0, res.stderr
    last = json.loads(res.stdout.strip().splitlines()[-1])
    assert last["method"] == "ds" and last["is_current"] and last["votes"] == 9
    res = fervlab("consensus", "--method", "bogus")
    assert res.returncode == 1 and "unknown method" in res.stderr


def test_cli_enqueue_wait_through_a_worker(session, voted, worker_process):
    res = fervlab("consensus", "--method", "mv", "--enqueue", "--wait", "--quiet", timeout=180)
    assert res.returncode == 0, res.stderr
    last = json.loads(res.stdout.strip().splitlines()[-1])
    assert last["method"] == "mv" and last["items"] == 3
    session.commit()
    job = session.exec(select(Job).where(Job.kind == "consensus")).one()
    assert job.status == "done" and job.result["id"] == last["id"]
