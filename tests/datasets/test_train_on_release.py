"""`fervlab train --release`: the checkpoint and its benchmark rows name the
release, and the dashboard filters by it."""
from __future__ import annotations

import pytest
from sqlmodel import select

from app.benchmarks.models import BenchmarkResult, ModelCheckpoint
from app.clips.ferv39k_import import import_ferv39k
from app.datasets import service
from tests.factories.ferv39k_tree import make_ferv39k_tree, synthetic_index
from workers.dfer.jobs import run_evaluate, run_train


def _quiet(*_a, **_k):
    return None


@pytest.fixture
def release(session, tmp_path):
    clips = synthetic_index(scenes=("DailyLife", "Interview"), per_class=3, frames=6, test_every=3)
    make_ferv39k_tree(tmp_path / "f", clips=clips, limit=None, size=48)
    import_ferv39k(session, tmp_path / "f", scenes=["DailyLife"])
    service.create_release(session, data=service.ReleaseIn(name="daily"))
    import_ferv39k(session, tmp_path / "f")  # Interview arrives after the release
    return "daily"


def test_training_on_a_release_uses_its_clips_and_names_it(client, session, admin_h, release):
    trained = run_train({"model": "resnet18", "epochs": 1, "batch_size": 14, "device": "cpu", "frames": 4,
                         "size": 48, "release": release}, _quiet)
    assert trained["train_clips"] == 14 and trained["release"] == "daily"  # DailyLife's train split only
    ckpt = session.get(ModelCheckpoint, trained["checkpoint"])
    assert ckpt.release == "daily"
    live = run_train({"model": "resnet18", "epochs": 1, "batch_size": 14, "device": "cpu", "frames": 4,
                      "size": 48}, _quiet)
    assert live["train_clips"] == 28 and live["release"] is None
    ev = run_evaluate({"checkpoint": ckpt.id, "device": "cpu"}, _quiet)
    assert ev["release"] == "daily" and ev["n"] == 7 and set(ev["per_scene"]) == {"DailyLife"}
    run_evaluate({"checkpoint": live["checkpoint"], "device": "cpu"}, _quiet)
    session.commit()
    rows = session.exec(select(BenchmarkResult).where(BenchmarkResult.checkpoint_id == ckpt.id)).all()
    assert rows and {r.release for r in rows} == {"daily"}
    only = client.get("/api/v1/benchmarks?release=daily", headers=admin_h).json()
    assert [r["checkpoint"] for r in only] == [ckpt.id] and only[0]["evaluated_on"] == "daily"
    assert len(client.get("/api/v1/benchmarks", headers=admin_h).json()) == 2
    page = client.get("/benchmarks?release=daily", headers=admin_h)
    assert page.status_code == 200 and 'href="/datasets/releases/daily"' in page.text


def test_an_unknown_release_is_a_clear_error(client, session, admin_h, release):
    with pytest.raises(ValueError, match="Release 'nope' does not exist"):
        run_train({"model": "resnet18", "epochs": 1, "release": "nope"}, _quiet)
    r = client.post("/api/v1/models/train", headers=admin_h, json={"model": "resnet18", "release": "nope"})
    assert r.status_code == 404 and "nope" in r.json()["detail"]
