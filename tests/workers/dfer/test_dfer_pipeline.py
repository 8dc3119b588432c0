"""train → checkpoint → evaluate → prerank, as the Celery tasks will call them."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from workers.dfer.checkpoint import CheckpointError, read_checkpoint
from workers.dfer.evaluate import evaluate
from workers.dfer.labels import CLASS_NAMES
from workers.dfer.prerank import prerank
from workers.dfer.train import TrainProgress, train

from tests.factories.dfer_samples import samples_from_tree

TINY = dict(epochs=4, batch_size=7, lr=3e-3, frames=4, size=32, device="cpu")


@pytest.fixture(scope="module")
def trained(tiny_samples, tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "resnet18.pt"
    calls: list[TrainProgress] = []
    result = train(tiny_samples, model_name="resnet18", out_path=out, progress=calls.append, **TINY)
    return result, calls


def test_training_learns_the_synthetic_expressions(trained):
    result, _ = trained
    losses = [h.loss for h in result.history]
    assert len(losses) == 4 and losses[-1] < losses[0] * 0.6
    assert result.history[-1].accuracy > 0.5  # chance is 1/7


def test_progress_is_reported_after_every_batch(trained):
    result, calls = trained
    assert len(calls) == 4 * 4  # 28 clips / 7 per batch × 4 epochs
    assert calls[-1].fraction == 1.0 and calls[0].epoch == 1 and calls[-1].epoch == 4


def test_checkpoint_holds_what_evaluate_and_prerank_need(trained):
    result, _ = trained
    payload = read_checkpoint(result.checkpoint_path)
    assert payload["model_name"] == "resnet18"
    assert payload["class_names"] == list(CLASS_NAMES)
    assert payload["clip_config"]["frames"] == 4 and payload["clip_config"]["size"] == 32
    assert len(payload["history"]) == 4 and payload["train"]["train_clips"] == 28
    assert [p.name for p in result.checkpoint_path.parent.iterdir()] == ["resnet18.pt"]  # no temp file left


def test_evaluate_reports_war_uar_per_scope(trained, tiny_samples):
    result, _ = trained
    ev = evaluate(result.checkpoint_path, tiny_samples, device="cpu")
    assert ev.n == 28 and ev.war > 0.5 and ev.uar > 0.5
    assert sum(map(sum, ev.confusion)) == 28
    assert set(ev.per_scene) == {"DailyLife", "Interview"}
    assert set(ev.per_scenario) == {"Daily Life", "Weak-Interactive Show"}
    assert set(ev.per_class) == set(CLASS_NAMES)
    rows = ev.rows()
    assert [r.scope for r in rows].count("class") == 7
    assert rows[0].scope == "all" and rows[0].war == ev.war
    assert sum(r.n for r in rows if r.scope == "scene") == 28


def test_prerank_gives_a_ranked_distribution_per_clip(trained, tiny_samples):
    result, _ = trained
    clips = [s for s in tiny_samples][:5]
    preds = prerank(result.checkpoint_path, clips, device="cpu", batch_size=2)
    assert [p.clip_id for p in preds] == [s.clip_id for s in clips]
    for p in preds:
        assert sum(p.probs.values()) == pytest.approx(1.0, abs=1e-4)
        assert sorted(p.ranking) == sorted(CLASS_NAMES) and p.top == p.ranking[0]
        assert [p.probs[c] for c in p.ranking] == sorted(p.probs.values(), reverse=True)
        assert 0.0 <= p.entropy <= math.log(7) + 1e-6
    assert prerank(result.checkpoint_path, [], device="cpu") == []


def test_prerank_with_worker_processes_gives_the_same_answers(trained, tiny_samples, monkeypatch):
    from workers.dfer import inference

    monkeypatch.setattr(inference, "LOAD_CHUNK", 3)  # model batches of 8 from worker batches of 3
    result, _ = trained
    clips = tiny_samples[:11]
    a = prerank(result.checkpoint_path, clips, device="cpu", batch_size=8, num_workers=0)
    b = prerank(result.checkpoint_path, clips, device="cpu", batch_size=8, num_workers=2)
    assert [p.clip_id for p in b] == [s.clip_id for s in clips]
    for pa, pb in zip(a, b):
        assert pa.ranking == pb.ranking
        assert all(abs(pa.probs[c] - pb.probs[c]) < 1e-5 for c in CLASS_NAMES)


def test_same_seed_same_training(tiny_samples, tmp_path: Path):
    kw = dict(TINY, epochs=1)
    a = train(tiny_samples[:14], model_name="resnet18", out_path=tmp_path / "a.pt", **kw)
    b = train(tiny_samples[:14], model_name="resnet18", out_path=tmp_path / "b.pt", **kw)
    assert a.history[0].loss == b.history[0].loss
    sa, sb = read_checkpoint(a.checkpoint_path)["state_dict"], read_checkpoint(b.checkpoint_path)["state_dict"]
    assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_two_stream_trains_on_face_and_scene_frames(tiny_tree, tmp_path: Path):
    samples = samples_from_tree(tiny_tree, with_scene=True)[:7]
    result = train(samples, model_name="two_stream_resnet18", out_path=tmp_path / "ts.pt", **dict(TINY, epochs=1))
    preds = prerank(result.checkpoint_path, samples[:2], device="cpu")
    assert len(preds) == 2 and preds[0].model_name == "two_stream_resnet18"


def test_bad_input_is_a_clear_error(tiny_samples, tmp_path: Path):
    from dataclasses import replace

    unlabelled = [replace(tiny_samples[0], label=None)]
    with pytest.raises(ValueError, match="label"):
        train(unlabelled, model_name="resnet18", out_path=tmp_path / "x.pt", **TINY)
    with pytest.raises(ValueError, match="labelled"):
        evaluate("prior", unlabelled, device="cpu")
    with pytest.raises(KeyError, match="unknown model"):
        train(tiny_samples, model_name="nope", out_path=tmp_path / "x.pt", **TINY)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        prerank(tmp_path / "junk.pt", tiny_samples[:1], device="cpu")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        prerank(tmp_path / "missing.pt", tiny_samples[:1], device="cpu")
