"""The one interface of every DFER model: face clip (B, T, C, H, W), optional
scene clip of the same shape, → logits (B, 7)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class InputSpec:
    """What a model expects of its frames; the data pipeline follows it."""

    size: int = 112
    channels: int = 3  # 3: RGB, 1: grey
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD


class ClipEncoder(nn.Module):
    """(B, T, C, H, W) → (B, out_dim) clip features."""

    out_dim: int


class DferModel(nn.Module):
    """A face-stream encoder, optionally a scene-stream encoder, one linear head.

    Two-stream models fuse late: each stream encodes its whole clip, the two
    feature vectors are concatenated and classified together.
    """

    def __init__(self, name: str, face: ClipEncoder, scene: ClipEncoder | None = None, *,
                 num_classes: int = 7, input_spec: InputSpec = InputSpec(), dropout: float = 0.3):
        super().__init__()
        self.name = name
        self.input_spec = input_spec
        self.face = face
        self.scene = scene
        dim = face.out_dim + (scene.out_dim if scene is not None else 0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, num_classes))

    @property
    def needs_scene(self) -> bool:
        return self.scene is not None

    def forward(self, face: torch.Tensor, scene: torch.Tensor | None = None) -> torch.Tensor:
        if face.dim() != 5:
            raise ValueError(f"{self.name}: expected a face clip (B, T, C, H, W), got shape {tuple(face.shape)}")
        feats = self.face(face)
        if self.scene is not None:
            if scene is None:
                raise ValueError(f"{self.name} is two-stream: it needs the scene clip too")
            feats = torch.cat([feats, self.scene(scene)], dim=1)
        return self.head(feats)
