"""The inference loop shared by evaluate and prerank."""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from workers.dfer.checkpoint import LoadedModel
from workers.dfer.data import FrameCache, Sample, make_loader, to_model_input
from workers.dfer.device import autocast, prepare_device


def predict_probs(loaded: LoadedModel, samples: Sequence[Sample], *, device: torch.device, batch_size: int,
                  num_workers: int | None = None, cache: FrameCache | None = None,
                  on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, 7) class probabilities, in the order of `samples`."""
    prepare_device(device)
    loader = make_loader(samples, loaded.config, batch_size=batch_size, device=device,
                         with_scene=loaded.needs_scene, num_workers=num_workers, cache=cache)
    out = np.empty((len(samples), 7), np.float32)
    done = 0
    with torch.inference_mode(), autocast(device):
        for batch in loader:
            face = to_model_input(batch["face"], loaded.config, device)
            scene = to_model_input(batch["scene"], loaded.config, device) if loaded.needs_scene else None
            probs = loaded.model(face, scene).float().softmax(dim=1)
            out[batch["index"].numpy()] = probs.cpu().numpy()
            done += len(probs)
            if on_batch is not None:
                on_batch(done, len(samples))
    return out
