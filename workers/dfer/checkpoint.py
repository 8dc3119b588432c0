"""Checkpoint files: one torch.save'd dict of plain values and tensors, so it
loads with weights_only=True (no pickled code runs on load).

    format, model_name, clip_config, class_names, state_dict, history, train
"""
from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from workers.dfer.data import ClipConfig
from workers.dfer.labels import CLASS_NAMES
from workers.dfer.models import build_model
from workers.dfer.prior import PRIOR_INPUT, PRIOR_NAME, load_prior

FORMAT = 1
PRIOR_FRAMES = 16


class CheckpointError(ValueError):
    """A file that is not a fervlab DFER checkpoint, or one for other classes."""


@dataclass(frozen=True)
class LoadedModel:
    model: nn.Module  # DferModel or PriorModel: forward(face, scene=None) -> (B, 7)
    name: str
    config: ClipConfig
    needs_scene: bool


def save_checkpoint(path: Path, *, model: nn.Module, model_name: str, config: ClipConfig,
                    history: list[dict[str, Any]], train: dict[str, Any]) -> Path:
    """Write atomically: a crash mid-write never leaves a truncated checkpoint
    under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "model_name": model_name,
        "clip_config": asdict(config),
        "class_names": list(CLASS_NAMES),
        "state_dict": state,
        "history": history,
        "train": train,
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def read_checkpoint(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several kinds for a foreign file
        raise CheckpointError(f"{path} is not a readable checkpoint: {e}") from e
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a fervlab DFER checkpoint (format {FORMAT})")
    if tuple(payload["class_names"]) != CLASS_NAMES:
        raise CheckpointError(f"{path} predicts {payload['class_names']}, not {list(CLASS_NAMES)}")
    return payload


def load_model(checkpoint: str | Path, device: torch.device) -> LoadedModel:
    """A checkpoint path, or "prior" for the pretrained FER2013 prior; in eval
    mode on `device`. A worker keeps the last few loaded (until the file
    changes): pre-ranking batch after batch should not re-read the weights."""
    if str(checkpoint) == PRIOR_NAME:
        return _load(PRIOR_NAME, 0, str(device))
    path = Path(checkpoint).resolve()
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {checkpoint}")
    return _load(str(path), path.stat().st_mtime_ns, str(device))


@functools.lru_cache(maxsize=4)
def _load(checkpoint: str, mtime_ns: int, device: str) -> LoadedModel:
    dev = torch.device(device)
    if checkpoint == PRIOR_NAME:
        model = load_prior().to(dev)
        return LoadedModel(model, PRIOR_NAME, ClipConfig.for_model(PRIOR_INPUT, frames=PRIOR_FRAMES), False)
    payload = read_checkpoint(Path(checkpoint))
    model = build_model(payload["model_name"])
    model.load_state_dict(payload["state_dict"])
    config = ClipConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in payload["clip_config"].items()})
    return LoadedModel(model.to(dev).eval(), payload["model_name"], config, model.needs_scene)
