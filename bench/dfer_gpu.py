"""DFER on a GPU: train and pre-rank clips/s end to end (JPEG frames on disk →
DataLoader workers → GPU) against the bare model on tensors already on the GPU,
bf16 autocast, 16×112×112 clips, batch 256 for inference and 64 for training.

    python bench/dfer_gpu.py                 # on the GPU machine, ~3 minutes
    python bench/dfer_gpu.py --smoke         # anywhere, CPU, seconds: does it run?

Makes its own FERV39k-shaped data (synthetic 224×224 JPEG face crops), so it
needs nothing from ../shared. Prints a markdown table.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from tests.factories.dfer_samples import samples_from_tree  # noqa: E402
from tests.factories.ferv39k_tree import make_ferv39k_tree, synthetic_index  # noqa: E402
from workers.dfer.checkpoint import save_checkpoint  # noqa: E402
from workers.dfer.data import ClipConfig  # noqa: E402
from workers.dfer.device import autocast, prepare_device, resolve_device  # noqa: E402
from workers.dfer.models import build_model  # noqa: E402
from workers.dfer.prerank import prerank  # noqa: E402
from workers.dfer.train import train  # noqa: E402


@dataclass(frozen=True)
class Settings:
    clips: int
    frames: int
    size: int
    infer_batch: int
    train_batch: int
    repeats: int
    device: torch.device
    workers: int | None


@dataclass(frozen=True)
class Row:
    model: str
    train_bare: float
    train_e2e: float
    infer_bare: float
    infer_e2e: float
    infer_cached: float


def make_data(root: Path, n: int, frames: int, jobs: int) -> None:
    # FERV39k clips are 8–47 frames (median 28); the model samples `frames` of them.
    clips = synthetic_index(scenes=("DailyLife", "Interview", "Speech", "War"), per_class=n // 28 + 1,
                            frames=frames + 8)
    make_ferv39k_tree(root, clips=clips, limit=n, size=224, jobs=jobs)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def bare_infer(name: str, s: Settings) -> float:
    model = build_model(name).to(s.device).eval()
    x = torch.randn(s.infer_batch, s.frames, 3, s.size, s.size, device=s.device)
    with torch.inference_mode(), autocast(s.device):
        model(x)
        _sync(s.device)
        t = time.perf_counter()
        for _ in range(s.repeats):
            model(x)
        _sync(s.device)
    return s.infer_batch * s.repeats / (time.perf_counter() - t)


def bare_train(name: str, s: Settings) -> float:
    model = build_model(name).to(s.device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(s.train_batch, s.frames, 3, s.size, s.size, device=s.device)
    y = torch.randint(0, 7, (s.train_batch,), device=s.device)

    def step() -> None:
        with autocast(s.device):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    _sync(s.device)
    t = time.perf_counter()
    for _ in range(s.repeats):
        step()
    _sync(s.device)
    return s.train_batch * s.repeats / (time.perf_counter() - t)


def _log(msg: str, t0: float) -> None:
    print(f"  [{time.perf_counter() - t0:6.1f} s] {msg}", file=sys.stderr, flush=True)


def run_model(name: str, samples, tmp: Path, s: Settings) -> Row:
    t0 = time.perf_counter()
    torch.manual_seed(0)
    model = build_model(name)
    ckpt = save_checkpoint(tmp / f"{name}.pt", model=model, model_name=name,
                           config=ClipConfig(frames=s.frames, size=s.size), history=[], train={})
    del model
    infer_bare = bare_infer(name, s)
    train_bare = bare_train(name, s)
    _log(f"{name}: bare {infer_bare:.0f} / {train_bare:.0f} clips/s", t0)
    kw = dict(device=s.device, batch_size=s.infer_batch, num_workers=s.workers)
    prerank(ckpt, samples[: s.infer_batch], **kw)  # warm-up: worker start-up, cuDNN autotuning
    _log("warm-up done", t0)
    t = time.perf_counter()
    prerank(ckpt, samples, **kw)
    infer_e2e = len(samples) / (time.perf_counter() - t)
    _log(f"prerank {infer_e2e:.0f} clips/s", t0)
    cache = tmp / f"cache-{name}"
    prerank(ckpt, samples, cache_dir=cache, **kw)  # fills the decoded-frame cache
    _log("cache filled", t0)
    t = time.perf_counter()
    prerank(ckpt, samples, cache_dir=cache, **kw)
    infer_cached = len(samples) / (time.perf_counter() - t)
    _log(f"prerank cached {infer_cached:.0f} clips/s", t0)
    # Epoch 2 of 2: persistent workers and cuDNN already warm.
    result = train(samples, model_name=name, epochs=2, batch_size=s.train_batch, lr=1e-4, device=s.device,
                   out_path=tmp / f"{name}-trained.pt", frames=s.frames, size=s.size, num_workers=s.workers)
    _log(f"train epochs {[round(h.seconds, 1) for h in result.history]} s", t0)
    return Row(name, train_bare, result.history[-1].clips_per_s, infer_bare, infer_e2e, infer_cached)


def profile_loading(samples, s: Settings) -> None:
    """Where the input time goes: one decode in this process, one loader pass."""
    from workers.dfer.data import list_frames, make_loader, read_frames

    paths = list_frames(samples[0].face_dir)[: s.frames]
    t = time.perf_counter()
    for _ in range(10):
        read_frames(paths, size=s.size, channels=3)
    print(f"decode: {(time.perf_counter() - t) / 10 / len(paths) * 1e3:.2f} ms/frame", file=sys.stderr)
    for batch in (32, s.infer_batch):
        t = time.perf_counter()
        loader = make_loader(samples, ClipConfig(frames=s.frames, size=s.size), batch_size=batch, device=s.device,
                             num_workers=s.workers)
        n = 0
        for i, b in enumerate(loader):
            if i == 0:
                first = time.perf_counter() - t
            n += len(b["face"])
        print(f"loader pass, batch {batch}: first batch {first:.1f} s, {n / (time.perf_counter() - t):.0f} clips/s",
              file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> list[Row]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="resnet18,r3d_18,r2plus1d_18")
    ap.add_argument("--clips", type=int, default=2048)
    ap.add_argument("--workers", type=int, help="DataLoader workers (default: one per core but one)")
    ap.add_argument("--smoke", action="store_true", help="CPU, tiny clips and batches: a quick check that it runs")
    ap.add_argument("--profile-loading", action="store_true", help="first time decoding and one loader pass")
    args = ap.parse_args(argv)
    if args.smoke:
        torch.set_num_threads(1)
        s = Settings(clips=8, frames=4, size=32, infer_batch=4, train_batch=4, repeats=1,
                     device=torch.device("cpu"), workers=0)
    else:
        s = Settings(clips=args.clips, frames=16, size=112, infer_batch=256, train_batch=64, repeats=5,
                     device=resolve_device(None), workers=args.workers)
    prepare_device(s.device)
    jobs = 1 if args.smoke else os.cpu_count() or 1
    t0 = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-dfer-gpu-") as tmp:
        tmp = Path(tmp)
        make_data(tmp / "ferv39k", s.clips, s.frames, jobs)
        samples = samples_from_tree(tmp / "ferv39k")
        print(f"data: {len(samples)} clips in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        if args.profile_loading:
            profile_loading(samples, s)
        for name in args.models.split(","):
            rows.append(run_model(name, samples, tmp, s))
            print(f"{name} done at {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    dev = torch.cuda.get_device_name() if s.device.type == "cuda" else "CPU"
    print(f"{dev}, torch {torch.__version__}, {os.cpu_count()} CPU cores, {s.clips} clips of "
          f"{s.frames}×{s.size}², {'bf16 autocast' if s.device.type == 'cuda' else 'fp32'}, "
          f"batch {s.train_batch} train / {s.infer_batch} inference, clips/s")
    print("| model | train bare | train end to end | e2e / bare | prerank bare | prerank end to end | e2e / bare "
          "| prerank, cached frames |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r.model} | {r.train_bare:.0f} | {r.train_e2e:.0f} | {r.train_e2e / r.train_bare:.0%} "
              f"| {r.infer_bare:.0f} | {r.infer_e2e:.0f} | {r.infer_e2e / r.infer_bare:.0%} | {r.infer_cached:.0f} |")
    print(f"total {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
