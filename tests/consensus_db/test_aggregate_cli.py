"""`fervlab aggregate ANSWERS.csv --method NAME [--gold TRUTH.csv] [--out OUT.csv]`."""
from __future__ import annotations

import csv
import json

import pytest

from tests.consensus_db.test_runs import fervlab


@pytest.fixture
def tiny(tmp_path):
    """4 items, 3 workers; w3 is wrong on i2, so majority still gets all 4."""
    votes = tmp_path / "answers.csv"
    votes.write_text("question,worker,answer\n"
                     "i1,w1,a\ni1,w2,a\ni1,w3,a\n"
                     "i2,w1,b\ni2,w2,b\ni2,w3,a\n"
                     "i3,w1,c\ni3,w2,c\ni3,w3,c\n"
                     "i4,w1,a\ni4,w2,b\ni4,w3,b\n")
    truth = tmp_path / "truth.csv"
    truth.write_text("question,truth\ni1,a\ni2,b\ni3,c\ni4,b\n")
    return votes, truth


def _summary(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def test_aggregate_prints_a_json_summary_last_and_writes_labels(tiny, tmp_path):
    votes, truth = tiny
    out = tmp_path / "out" / "labels.csv"
    res = fervlab("aggregate", str(votes), "--method", "mv", "--gold", str(truth), "--out", str(out))
    assert res.returncode == 0, res.stderr
    s = _summary(res.stdout)
    assert set(s) == {"method", "items", "votes", "accuracy", "seconds"}
    assert s["method"] == "mv" and s["items"] == 4 and s["votes"] == 12 and s["accuracy"] == 1.0
    rows = list(csv.DictReader(out.open()))
    assert {r["task"]: r["label"] for r in rows} == {"i1": "a", "i2": "b", "i3": "c", "i4": "b"}


def test_aggregate_without_gold_has_null_accuracy(tiny):
    res = fervlab("aggregate", str(tiny[0]), "--method", "ds")
    assert res.returncode == 0, res.stderr
    assert _summary(res.stdout)["accuracy"] is None


def test_aggregate_errors_are_one_clear_line(tiny, tmp_path):
    votes, _ = tiny
    missing = fervlab("aggregate", str(tmp_path / "nope.csv"), "--method", "ds")
    assert missing.returncode == 1 and "not found" in missing.stderr and len(missing.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    res = fervlab("aggregate", str(bad), "--method", "ds")
    assert res.returncode == 1 and "bad header" in res.stderr and len(res.stderr.strip().splitlines()) == 1
    res = fervlab("aggregate", str(votes), "--method", "nosuch")
    assert res.returncode == 1 and "nosuch" in res.stderr and len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["bluebirds", "rte", "temp"])
def test_aggregate_the_shared_crowd_sets(shared_dir, name):
    folder = shared_dir / "crowd" / name
    if not (folder / "answers.csv").is_file():
        pytest.skip(f"../shared/crowd/{name} is absent")
    res = fervlab("aggregate", str(folder / "answers.csv"), "--method", "ds", "--gold", str(folder / "truth.csv"))
    assert res.returncode == 0, res.stderr
    s = _summary(res.stdout)
    n_votes = sum(1 for _ in (folder / "answers.csv").open()) - 1
    assert s["votes"] == n_votes and s["items"] > 0
    assert s["accuracy"] > 0.85, s
