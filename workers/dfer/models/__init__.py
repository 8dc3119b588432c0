"""The model zoo, registered by name: the paper's four kinds of baseline.

    frame CNN      resnet18, vgg13            (features averaged over time)
    CNN + LSTM     resnet18_lstm, vgg13_lstm
    3D CNN         c3d, r3d_18, r2plus1d_18
    two-stream     two_stream_<any of the above>  (face crop + scene frame)

All start from random weights (nothing is downloaded).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from workers.dfer.labels import NUM_CLASSES
from workers.dfer.models import frame, video3d
from workers.dfer.models.base import ClipEncoder, DferModel, InputSpec

__all__ = ["DferModel", "InputSpec", "ModelInfo", "build_model", "list_models", "model_names", "register"]

TWO_STREAM = "two_stream_"


@dataclass(frozen=True)
class _Base:
    kind: str
    description: str
    encoder: Callable[[], ClipEncoder]


@dataclass(frozen=True)
class ModelInfo:
    name: str
    kind: str  # frame | cnn_lstm | 3d | two_stream
    description: str
    params: int
    needs_scene: bool


_BASES: dict[str, _Base] = {}


def register(name: str, kind: str, description: str) -> Callable[[Callable[[], ClipEncoder]], Callable[[], ClipEncoder]]:
    """Register a clip encoder factory; its two-stream twin comes for free."""
    if name.startswith(TWO_STREAM):
        raise ValueError(f"{name!r}: names starting with {TWO_STREAM!r} are derived, not registered")

    def deco(factory: Callable[[], ClipEncoder]) -> Callable[[], ClipEncoder]:
        _BASES[name] = _Base(kind, description, factory)
        return factory

    return deco


register("resnet18", "frame", "ResNet-18 per frame, mean over time")(lambda: frame.FrameMean(*frame.resnet18_trunk()))
register("vgg13", "frame", "VGG-13 (BN) per frame, mean over time")(lambda: frame.FrameMean(*frame.vgg13_trunk()))
register("resnet18_lstm", "cnn_lstm", "ResNet-18 per frame, LSTM over time")(
    lambda: frame.FrameLSTM(*frame.resnet18_trunk()))
register("vgg13_lstm", "cnn_lstm", "VGG-13 (BN) per frame, LSTM over time")(
    lambda: frame.FrameLSTM(*frame.vgg13_trunk()))
register("c3d", "3d", "C3D, 3×3×3 convolutions")(video3d.c3d)
register("r3d_18", "3d", "3D ResNet-18")(video3d.r3d_18)
register("r2plus1d_18", "3d", "R(2+1)D-18, factorised space/time convolutions")(video3d.r2plus1d_18)


def model_names() -> list[str]:
    return [*_BASES, *(TWO_STREAM + n for n in _BASES)]


def build_model(name: str, *, num_classes: int = NUM_CLASSES) -> DferModel:
    """A freshly initialised model; seed torch first for reproducible weights."""
    two_stream = name.startswith(TWO_STREAM)
    base = _BASES.get(name.removeprefix(TWO_STREAM))
    if base is None:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(model_names())}")
    face = base.encoder()
    scene = base.encoder() if two_stream else None
    return DferModel(name, face, scene, num_classes=num_classes, input_spec=InputSpec())


def list_models() -> list[ModelInfo]:
    """Every registered model with its parameter count (built on the meta
    device: no memory, no time)."""
    out = []
    for name in model_names():
        with torch.device("meta"):
            model = build_model(name)
        base = _BASES[name.removeprefix(TWO_STREAM)]
        two = name.startswith(TWO_STREAM)
        out.append(ModelInfo(
            name=name,
            kind="two_stream" if two else base.kind,
            description=f"two-stream (face + scene) {base.description}" if two else base.description,
            params=sum(p.numel() for p in model.parameters()),
            needs_scene=two,
        ))
    return out
