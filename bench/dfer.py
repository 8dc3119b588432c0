"""DFER pre-ranking speed on the CPU: end to end (JPEG frames on disk → model →
list of PredictionOut) against the bare model forward on the same input shape,
in the same run.

    .venv/bin/python bench/dfer.py                    # the BENCHMARKS.md table
    .venv/bin/python bench/dfer.py --models prior,resnet18 --clips 64
    .venv/bin/python bench/dfer.py --smoke            # seconds: does it run?

Clips are FERV39k-shaped (224×224 JPEG face crops, real FERV39k clip lengths
when ../shared is there) with synthetic frames. To measure more of the path
(e.g. storing predictions), pass a `sink` to `time_prerank`.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from tests.factories.dfer_samples import samples_from_tree  # noqa: E402
from tests.factories.ferv39k_tree import make_ferv39k_tree, shared_index_dir, synthetic_index  # noqa: E402
from workers.dfer.checkpoint import load_model, save_checkpoint  # noqa: E402
from workers.dfer.data import ClipConfig, Sample, to_model_input  # noqa: E402
from workers.dfer.models import build_model  # noqa: E402
from workers.dfer.prerank import PredictionOut, prerank  # noqa: E402
from bench.machine import cpu_model  # noqa: E402

# Clips per model: enough for a few seconds each on 2 cores.
DEFAULT_CLIPS = {"prior": 256, "resnet18": 48, "r3d_18": 24, "r2plus1d_18": 16}


@dataclass(frozen=True)
class Row:
    model: str
    input: str
    clips: int
    bare: float  # clips/s, model forward only
    e2e: float  # clips/s, prerank() from disk to PredictionOut

    @property
    def ratio(self) -> float:
        return self.e2e / self.bare


def make_clips(root: Path, n: int, *, frames: int | None = None) -> list[Sample]:
    index = None if shared_index_dir() else synthetic_index(per_class=max(1, n // 14 + 1), frames=frames or 28)
    make_ferv39k_tree(root, clips=index, limit=n, max_frames=frames, size=224)
    return samples_from_tree(root)[:n]


def checkpoint_for(name: str, folder: Path, frames: int) -> str | Path:
    if name == "prior":
        return "prior"
    torch.manual_seed(0)
    model = build_model(name)
    config = ClipConfig.for_model(model.input_spec, frames=frames)
    return save_checkpoint(folder / f"{name}.pt", model=model, model_name=name, config=config, history=[], train={})


def time_bare(checkpoint: str | Path, batch_size: int, batches: int) -> float:
    """The model alone on a ready batch of the same shape as prerank feeds it."""
    loaded = load_model(checkpoint, torch.device("cpu"))
    c = loaded.config
    x = to_model_input(torch.randint(0, 256, (batch_size, c.frames, c.channels, c.size, c.size),
                                     dtype=torch.uint8), c, torch.device("cpu"))
    with torch.inference_mode():
        t = time.perf_counter()
        for _ in range(batches):
            loaded.model(x)
        return batch_size * batches / (time.perf_counter() - t)


def time_prerank(checkpoint: str | Path, samples: Sequence[Sample], batch_size: int,
                 sink: Callable[[list[PredictionOut]], None] | None = None) -> float:
    """prerank() end to end; `sink` may take the predictions on (e.g. to store them)."""
    t = time.perf_counter()
    preds = prerank(checkpoint, samples, device="cpu", batch_size=batch_size)
    if sink is not None:
        sink(preds)
    return len(samples) / (time.perf_counter() - t)


def input_shape(checkpoint: str | Path) -> str:
    c = load_model(checkpoint, torch.device("cpu")).config
    return f"{c.frames}×{c.size}² {'grey' if c.channels == 1 else 'RGB'}"


def main(argv: Sequence[str] | None = None) -> list[Row]:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="prior,resnet18,r3d_18")
    ap.add_argument("--clips", type=int, help="clips per model (default: per-model, a few seconds each)")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--rounds", type=int, default=2, help="alternating bare / end-to-end rounds; best of each")
    ap.add_argument("--smoke", action="store_true", help="4 clips of 4 frames, one round: a quick check")
    args = ap.parse_args(argv)
    if args.smoke:
        args.rounds = 1
    torch.set_num_threads(args.threads)
    models = args.models.split(",")
    frames = 4 if args.smoke else 16
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-dfer-") as tmp:
        tmp = Path(tmp)
        n_max = 4 if args.smoke else args.clips or max(DEFAULT_CLIPS.get(m, 24) for m in models)
        samples = make_clips(tmp / "ferv39k", n_max, frames=frames if args.smoke else None)
        for name in models:
            n = 4 if args.smoke else args.clips or DEFAULT_CLIPS.get(name, 24)
            ckpt = checkpoint_for(name, tmp, frames if name != "prior" else 16)
            prerank(ckpt, samples[: args.batch_size], device="cpu", batch_size=args.batch_size)  # warm-up
            # Alternate the two and keep each one's best round: the machine is
            # shared, and a burst of someone else's work should not decide the ratio.
            bare = e2e = 0.0
            for _ in range(args.rounds):
                bare = max(bare, time_bare(ckpt, args.batch_size, max(1, n // args.batch_size)))
                e2e = max(e2e, time_prerank(ckpt, samples[:n], args.batch_size))
            rows.append(Row(name, input_shape(ckpt), n, bare, e2e))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, fp32, batch {args.batch_size}, "
          f"{cpu_model()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print("| model | input | clips | bare model (clips/s) | end to end (clips/s) | e2e / bare | 1,000 clips |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r.model} | {r.input} | {r.clips} | {r.bare:.1f} | {r.e2e:.1f} | {r.ratio:.0%} "
              f"| {1000 / r.e2e / 60:.1f} min |")
    return rows


if __name__ == "__main__":
    main()
