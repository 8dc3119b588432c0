"""Builds a FERV39k-shaped folder: real clip names, splits and frame counts from
the official index in ../shared/ferv39k, synthetic frames.

The frames are learnable on purpose: each expression has its own tint and mouth
shape, so a tiny model trained on them beats chance within a few epochs.
Also used by bench/dfer_gpu.py, which may run where ../shared is absent: it
passes `synthetic_index(...)` instead of the real one.
"""
from __future__ import annotations

import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.clips.ferv39k import EXPRESSIONS, FACE_DIR, SETUP_DIR, SPLITS, Split, parse_index_line

SHARED_FERV39K = Path(__file__).resolve().parents[2] / ".." / "shared" / "ferv39k"

# BGR tints, one per expression in EXPRESSIONS order.
_TINTS = ((40, 40, 200), (40, 160, 60), (160, 60, 160), (40, 200, 230), (150, 150, 150), (200, 90, 40), (200, 200, 60))


@dataclass(frozen=True)
class TreeClip:
    scene: str
    expression: str
    number: str
    split: Split
    frames: int

    @property
    def clip(self) -> str:
        return f"{self.scene}/{self.expression}/{self.number}"


def shared_index_dir() -> Path | None:
    """The real FERV39k index beside the repo, or None where ../shared is absent."""
    return SHARED_FERV39K if (SHARED_FERV39K / "train_All.csv").is_file() else None


def read_real_index(index_dir: Path) -> list[TreeClip]:
    counts: dict[str, int] = {}
    with (index_dir / "frame_counts.csv").open() as f:
        next(f)
        for raw in f:
            clip, frames = raw.strip().rsplit(",", 1)
            counts[clip] = int(frames)
    clips = []
    for split in SPLITS:
        with (index_dir / f"{split}_All.csv").open() as f:
            for n, raw in enumerate(f, 1):
                if raw.strip():
                    line = parse_index_line(raw, split=split, where=f"{split}_All.csv:{n}")
                    clips.append(TreeClip(line.scene, line.expression, line.number, split, counts[line.clip]))
    return clips


def synthetic_index(*, scenes: Sequence[str] = ("DailyLife", "Interview"), per_class: int = 4,
                    frames: int = 24, test_every: int = 4) -> list[TreeClip]:
    """Made-up clip names in FERV39k form, for machines without ../shared."""
    return [
        TreeClip(scene, expr, f"{i:04d}", "test" if i % test_every == test_every - 1 else "train", frames)
        for scene in scenes for expr in EXPRESSIONS for i in range(per_class)
    ]


def select(clips: Iterable[TreeClip], *, scenes: Iterable[str] | None = None,
           limit: int | None = None) -> list[TreeClip]:
    """Keep `scenes`, then interleave so that any 7 consecutive clips are the 7
    expressions and the scenes take turns (the index is grouped by class), so a
    small `limit` still covers every class."""
    wanted = set(scenes) if scenes is not None else None
    groups: dict[tuple[str, str], list[TreeClip]] = defaultdict(list)
    for c in clips:
        if wanted is None or c.scene in wanted:
            groups[(c.expression, c.scene)].append(c)
    scene_pos = {key: i for expr in EXPRESSIONS
                 for i, key in enumerate(sorted(k for k in groups if k[0] == expr))}
    ordered = sorted(((rank, scene_pos[key], EXPRESSIONS.index(key[0])), c)
                     for key, cs in groups.items() for rank, c in enumerate(_mix_splits(cs)))
    out = [c for _, c in ordered]
    return out[:limit] if limit is not None else out


def _mix_splits(clips: list[TreeClip]) -> list[TreeClip]:
    """Train and test clips spread evenly, so a prefix holds both."""
    by_split = {sp: [c for c in clips if c.split == sp] for sp in SPLITS}
    spread = [((i + 0.5) / len(cs), sp == "train", c) for sp, cs in by_split.items() for i, c in enumerate(cs)]
    return [c for *_, c in sorted(spread, key=lambda t: t[:2])]


def make_ferv39k_tree(root: Path, *, clips: Sequence[TreeClip] | None = None,
                      scenes: Iterable[str] | None = None, limit: int | None = 14,
                      max_frames: int | None = None, size: int = 224, seed: int = 0,
                      jobs: int = 1) -> list[TreeClip]:
    """Write ROOT/2_ClipsforFaceCrop/... and ROOT/4_setups/All_scenes/*.csv.

    `clips` defaults to the real index (raises FileNotFoundError without
    ../shared: tests skip before calling). Returns the clips written, with
    their frame counts after `max_frames`. `jobs` > 1 encodes JPEGs in that
    many processes (for benchmarks that need thousands of clips).
    """
    root = Path(root)
    if clips is None:
        index_dir = shared_index_dir()
        if index_dir is None:
            raise FileNotFoundError(f"no FERV39k index at {SHARED_FERV39K}")
        clips = read_real_index(index_dir)
    written = [TreeClip(c.scene, c.expression, c.number, c.split, min(c.frames, max_frames or c.frames))
               for c in select(clips, scenes=scenes, limit=limit)]
    jobs_args = [(root / FACE_DIR / c.scene / c.expression / c.number, c, size, seed) for c in written]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(_write_job, jobs_args, chunksize=16))
    else:
        for a in jobs_args:
            _write_job(a)
    setup = root / SETUP_DIR
    setup.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        lines = [f"{c.clip} {c.expression}\n" for c in written if c.split == split]
        (setup / f"{split}_All.csv").write_text("".join(lines))
    return written


def _write_job(args: tuple[Path, TreeClip, int, int]) -> None:
    frame_dir, clip, size, seed = args
    write_clip_frames(frame_dir, clip, size=size, seed=seed)


def write_clip_frames(frame_dir: Path, clip: TreeClip, *, size: int = 224, seed: int = 0) -> None:
    frame_dir.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(synthetic_frames(clip.clip, clip.expression, clip.frames, size=size, seed=seed), 1):
        cv2.imwrite(str(frame_dir / f"{i:05d}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])


def synthetic_frames(key: str, expression: str, n: int, *, size: int = 224, seed: int = 0) -> list[np.ndarray]:
    """A tinted 'face' whose mouth curve depends on the expression, drifting a
    little from frame to frame over light noise (BGR uint8)."""
    rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
    k = EXPRESSIONS.index(expression)
    tint = np.array(_TINTS[k], np.float32)
    c0 = rng.uniform(0.45, 0.55, 2) * size
    frames = []
    for t in range(n):
        img = rng.normal(110, 18, (size, size, 3)).clip(0, 255).astype(np.uint8)
        cx, cy = (c0 + np.array([np.sin(t / 3), np.cos(t / 4)]) * size * 0.02).astype(int)
        axes = (int(size * 0.3), int(size * 0.38))
        cv2.ellipse(img, (cx, cy), axes, 0, 0, 360, tuple(int(v) for v in tint), -1)
        curve = (k - 3) * size * 0.02  # mouth: frown … flat … smile
        mouth = np.array([[cx - size * 0.12, cy + size * 0.18],
                          [cx, cy + size * 0.18 + curve],
                          [cx + size * 0.12, cy + size * 0.18]], np.int32)
        cv2.polylines(img, [mouth], False, (20, 20, 20), max(1, size // 40))
        frames.append(img)
    return frames
