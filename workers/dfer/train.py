"""Train a zoo model on labelled clips and write its checkpoint."""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from workers.dfer.checkpoint import save_checkpoint
from workers.dfer.data import ClipConfig, FrameCache, Sample, make_loader, to_model_input
from workers.dfer.device import autocast, prepare_device, resolve_device
from workers.dfer.labels import NUM_CLASSES
from workers.dfer.models import build_model


@dataclass(frozen=True)
class EpochStats:
    epoch: int  # 1-based
    loss: float  # mean training cross-entropy
    accuracy: float  # on the (augmented) training batches
    lr: float  # at the end of the epoch
    seconds: float
    clips_per_s: float


@dataclass(frozen=True)
class TrainProgress:
    """Passed to `progress` after every batch."""

    epoch: int
    epochs: int
    step: int  # within the epoch, 1-based
    steps: int
    loss: float  # running mean over this epoch

    @property
    def fraction(self) -> float:
        return ((self.epoch - 1) * self.steps + self.step) / (self.epochs * self.steps)


@dataclass(frozen=True)
class TrainResult:
    checkpoint_path: Path
    model_name: str
    epochs: int
    train_clips: int
    device: str
    seconds: float
    config: dict  # what the checkpoint's "train" entry holds
    history: list[EpochStats]


def train(samples: Sequence[Sample], *, model_name: str, epochs: int, batch_size: int, lr: float,
          device: str | torch.device | None = None, out_path: Path,
          progress: Callable[[TrainProgress], None] | None = None,
          frames: int = 16, size: int | None = None, weight_decay: float = 0.05, seed: int = 0,
          num_workers: int | None = None, cache_dir: Path | None = None) -> TrainResult:
    """AdamW with a cosine schedule and cross-entropy; bf16 autocast on CUDA.

    `size` overrides the model's frame size (default 112). `cache_dir` keeps
    decoded frames between epochs and runs (see data.FrameCache).
    """
    if not samples:
        raise ValueError("train needs at least one clip")
    bad = [s.clip_id for s in samples if s.label is None or not 0 <= s.label < NUM_CLASSES]
    if bad:
        raise ValueError(f"train needs a label 0..{NUM_CLASSES - 1} on every clip; {len(bad)} lack one "
                         f"(first: {bad[0]!r})")
    if epochs < 1 or batch_size < 1 or lr <= 0:
        raise ValueError("epochs and batch_size must be ≥ 1 and lr > 0")
    dev = resolve_device(device)
    prepare_device(dev)
    torch.manual_seed(seed)
    model = build_model(model_name).to(dev)
    spec = model.input_spec
    config = ClipConfig.for_model(spec, frames=frames)
    if size is not None:
        config = ClipConfig(frames=frames, size=size, channels=spec.channels, mean=spec.mean, std=spec.std)
    loader = make_loader(samples, config, batch_size=batch_size, device=dev, train=True,
                         with_scene=model.needs_scene, num_workers=num_workers,
                         cache=FrameCache(cache_dir) if cache_dir else None, seed=seed)
    steps = len(loader)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps)
    history: list[EpochStats] = []
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        t0 = time.perf_counter()
        loss_sum = torch.zeros((), device=dev)  # summed on device: no sync per batch
        correct = torch.zeros((), device=dev, dtype=torch.long)
        seen = 0
        for step, batch in enumerate(loader, 1):
            face = to_model_input(batch["face"], config, dev)
            scene = to_model_input(batch["scene"], config, dev) if model.needs_scene else None
            labels = batch["label"].to(dev, non_blocking=True)
            with autocast(dev):
                logits = model(face, scene)
            loss = F.cross_entropy(logits.float(), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.detach() * len(labels)
            correct += (logits.argmax(1) == labels).sum()
            seen += len(labels)
            if progress is not None:
                progress(TrainProgress(epoch, epochs, step, steps, loss_sum.item() / seen))
        seconds = time.perf_counter() - t0
        history.append(EpochStats(epoch=epoch, loss=loss_sum.item() / seen, accuracy=correct.item() / seen,
                                  lr=sched.get_last_lr()[0], seconds=seconds, clips_per_s=seen / seconds))
    run = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "seed": seed,
           "train_clips": len(samples), "device": str(dev)}
    path = save_checkpoint(out_path, model=model, model_name=model_name, config=config,
                           history=[asdict(h) for h in history], train=run)
    return TrainResult(checkpoint_path=path, model_name=model_name, epochs=epochs, train_clips=len(samples),
                       device=str(dev), seconds=time.perf_counter() - start, config=run, history=history)
