"""The zoo's contract: every model takes (B, T, C, H, W) [+ scene], gives (B, 7),
trains, and is reproducible from a seed."""
from __future__ import annotations

import pytest
import torch

from workers.dfer.models import build_model, list_models, model_names

BASES = ["resnet18", "vgg13", "resnet18_lstm", "vgg13_lstm", "c3d", "r3d_18", "r2plus1d_18"]


def tiny_clip(name: str = "", seed: int = 0) -> torch.Tensor:
    # VGG's five poolings need 32 px; the rest run on 16 px to keep this fast.
    size = 32 if "vgg" in name else 16
    return torch.randn(2, 4, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_zoo_has_the_papers_baselines_and_their_two_stream_twins():
    assert sorted(model_names()) == sorted(BASES + [f"two_stream_{b}" for b in BASES])


@pytest.mark.parametrize("name", model_names())
def test_contract(name: str):
    torch.manual_seed(0)
    model = build_model(name)
    torch.manual_seed(0)
    twin = build_model(name)
    face = tiny_clip(name, 1)
    scene = tiny_clip(name, 2) if model.needs_scene else None

    with torch.no_grad():
        model.eval(), twin.eval()
        assert torch.equal(model(face, scene), twin(face, scene))

    model.train()
    logits = model(face, scene)
    assert logits.shape == (2, 7)
    logits.logsumexp(1).sum().backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.head[-1].weight.grad.abs().sum() > 0


def test_two_stream_needs_the_scene_clip():
    model = build_model("two_stream_resnet18")
    with pytest.raises(ValueError, match="scene"):
        model(tiny_clip())


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(KeyError, match="resnet18"):
        build_model("resnet50")


def test_list_models_counts_parameters_without_building_them():
    infos = {m.name: m for m in list_models()}
    assert set(infos) == set(model_names())
    torch.manual_seed(0)
    assert infos["resnet18"].params == sum(p.numel() for p in build_model("resnet18").parameters())
    # Two-stream: two encoders, one head over both.
    assert infos["two_stream_r3d_18"].params == 2 * infos["r3d_18"].params - 2 * 7 * 513 + 7 * 1025
    assert infos["two_stream_c3d"].needs_scene and not infos["c3d"].needs_scene
    assert {m.kind for m in infos.values()} == {"frame", "cnn_lstm", "3d", "two_stream"}


def test_c3d_matches_the_paper_at_16x112x112():
    # pool5 gives exactly 512×1×4×4 = 8192 features there: no adaptive pooling at work.
    net = build_model("c3d").face.net
    x = torch.randn(1, 3, 16, 112, 112)
    feats = x
    with torch.no_grad():
        for i, block in enumerate(net.blocks):
            feats = block(feats)
            kt = 1 if i == 0 else 2
            pad = (0, 1, 1) if i == 4 else 0
            feats = torch.nn.functional.max_pool3d(feats, (kt, 2, 2), (kt, 2, 2), padding=pad)
    assert feats.shape == (1, 512, 1, 4, 4)
