"""The inference loop shared by evaluate and prerank."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

import numpy as np
import torch

from workers.dfer.checkpoint import LoadedModel
from workers.dfer.data import FrameCache, Sample, default_workers, make_loader, to_model_input
from workers.dfer.device import autocast, prepare_device

T = TypeVar("T")


# Clips per worker batch when worker processes load for a bigger model batch:
# a worker builds its batch alone, so small ones reach the GPU sooner and
# spread a short pass over every worker.
LOAD_CHUNK = 32


def predict_probs(loaded: LoadedModel, samples: Sequence[Sample], *, device: torch.device, batch_size: int,
                  num_workers: int | None = None, cache: FrameCache | None = None,
                  on_batch: Callable[[int, int], None] | None = None) -> np.ndarray:
    """(N, 7) class probabilities, in the order of `samples`."""
    prepare_device(device)
    workers = default_workers(device) if num_workers is None else num_workers
    chunk = min(batch_size, LOAD_CHUNK) if workers > 0 else batch_size
    loader = make_loader(samples, loaded.config, batch_size=chunk, device=device,
                         with_scene=loaded.needs_scene, num_workers=workers, cache=cache)
    # Without worker processes, a thread decodes the next batch while the model
    # runs (OpenCV and torch both release the GIL).
    batches = loader if workers > 0 else prefetch(loader)
    out = np.empty((len(samples), 7), np.float32)
    done = 0
    pending: list[dict] = []

    def run(parts: list[dict]) -> None:
        nonlocal done
        face = torch.cat([to_model_input(p["face"], loaded.config, device) for p in parts])
        scene = (torch.cat([to_model_input(p["scene"], loaded.config, device) for p in parts])
                 if loaded.needs_scene else None)
        probs = loaded.model(face, scene).float().softmax(dim=1)
        out[torch.cat([p["index"] for p in parts]).numpy()] = probs.cpu().numpy()
        done += len(probs)
        if on_batch is not None:
            on_batch(done, len(samples))

    with torch.inference_mode(), autocast(device):
        for batch in batches:
            pending.append(batch)
            if sum(len(p["index"]) for p in pending) >= batch_size:
                run(pending)
                pending = []
        if pending:
            run(pending)
    return out


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Produce `items` in a background thread, up to `depth` ahead."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def put(entry: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False  # the consumer has gone

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((end, None))
        except BaseException as e:  # handed to the consumer, raised there
            put((end, e))

    thread = threading.Thread(target=produce, name="dfer-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = q.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()  # the consumer left early: let the producer end
