"""Clips as model input: frame folders → T sampled frames → uint8 tensors.

A clip is a folder of face-crop JPEGs (00001.jpg…, 224×224), optionally with
a scene-frame folder of the same length. Workers hand out uint8 (T, C, H, W);
`to_model_input` makes floats and normalises on the target device, so a GPU
gets a quarter of the bytes and does the arithmetic itself.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

if TYPE_CHECKING:  # for the annotation only: the zoo package pulls in torchvision
    from workers.dfer.models.base import InputSpec


@dataclass(frozen=True)
class Sample:
    """One clip as the DFER functions see it (no database)."""

    clip_id: int | str
    face_dir: Path
    scene_dir: Path | None = None
    label: int | None = None  # index into labels.CLASS_NAMES
    scene: str = ""
    scenario: str = ""


@dataclass(frozen=True)
class ClipConfig:
    frames: int = 16
    size: int = 112
    channels: int = 3  # 3: RGB, 1: grey
    mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    std: tuple[float, ...] = (0.229, 0.224, 0.225)

    @classmethod
    def for_model(cls, spec: InputSpec, *, frames: int = 16) -> ClipConfig:
        return cls(frames=frames, size=spec.size, channels=spec.channels, mean=spec.mean, std=spec.std)


class ClipError(ValueError):
    """A clip folder that cannot be read."""


def list_frames(frame_dir: Path) -> list[Path]:
    try:
        frames = sorted(p for p in Path(frame_dir).iterdir() if p.suffix.lower() in (".jpg", ".jpeg"))
    except (FileNotFoundError, NotADirectoryError):
        raise ClipError(f"clip folder {frame_dir} does not exist") from None
    if not frames:
        raise ClipError(f"clip folder {frame_dir} has no .jpg frames")
    return frames


def sample_indices(n: int, t: int, rng: np.random.Generator | None = None) -> np.ndarray:
    """T indices spread evenly over n frames: the middle of each of T equal
    segments, or (training, with rng) a random frame within each. Short clips
    repeat frames."""
    edges = np.linspace(0, n, t + 1)
    if rng is None:
        pos = (edges[:-1] + edges[1:]) / 2
    else:
        pos = rng.uniform(edges[:-1], edges[1:])
    return np.minimum(pos.astype(np.int64), n - 1)


_REDUCED = {  # JPEG DCT scaling: decode at 1/f size for nearly nothing
    (3, 1): cv2.IMREAD_COLOR, (3, 2): cv2.IMREAD_REDUCED_COLOR_2, (3, 4): cv2.IMREAD_REDUCED_COLOR_4,
    (1, 1): cv2.IMREAD_GRAYSCALE, (1, 2): cv2.IMREAD_REDUCED_GRAYSCALE_2, (1, 4): cv2.IMREAD_REDUCED_GRAYSCALE_4,
}


def read_frames(paths: Sequence[Path], *, size: int, channels: int) -> np.ndarray:
    """Decode and resize to (T, size, size, C) uint8, RGB or grey.

    The first frame fixes how far the JPEG decoder may scale down (a 224 crop
    decodes straight to 112), the rest of the clip reuses it.
    """
    first = cv2.imread(str(paths[0]), _REDUCED[(channels, 1)])
    if first is None:
        raise ClipError(f"cannot decode {paths[0]}")
    factor = 1
    while factor < 4 and min(first.shape[:2]) >= size * factor * 2:
        factor *= 2
    out = np.empty((len(paths), size, size, channels), np.uint8)
    for i, p in enumerate(paths):
        img = first if i == 0 and factor == 1 else cv2.imread(str(p), _REDUCED[(channels, factor)])
        if img is None:
            raise ClipError(f"cannot decode {p}")
        if img.shape[0] != size or img.shape[1] != size:
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
        if channels == 3:
            cv2.cvtColor(img, cv2.COLOR_BGR2RGB, dst=out[i])
        else:
            out[i, :, :, 0] = img
    return out


class FrameCache:
    """Decoded clips on disk, one .npy per (folder, size, channels): every
    frame of the clip at the model's size, uint8. Later epochs, runs and worker
    processes read it memory-mapped instead of decoding JPEGs again.

    Costs size²·C bytes a frame (112²·3 = 37 KB): 1 GB per ~27k frames.
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, frame_dir: Path, n: int, size: int, channels: int) -> Path:
        key = f"{Path(frame_dir).resolve()}|{n}|{size}|{channels}"
        return self.root / f"{hashlib.sha1(key.encode()).hexdigest()}.npy"

    def frames(self, frame_dir: Path, paths: Sequence[Path], *, size: int, channels: int) -> np.ndarray:
        path = self.path(frame_dir, len(paths), size, channels)
        try:
            return np.load(path, mmap_mode="r")
        except (FileNotFoundError, ValueError):
            pass  # absent or half-written by a killed run: decode again
        frames = read_frames(paths, size=size, channels=channels)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            np.save(f, frames)
        os.replace(tmp, path)  # atomic: concurrent workers never see half a file
        return frames


class ClipDataset(Dataset):
    """Items: dict(face=uint8 (T, C, H, W)[, scene=…], label=int (-1: none), index=int).

    Training adds augmentation, drawn once per clip so that every frame moves
    alike: a random crop (80–100 % of the side), a horizontal flip, and light
    brightness/contrast jitter.
    """

    def __init__(self, samples: Sequence[Sample], config: ClipConfig, *, train: bool = False,
                 with_scene: bool = False, cache: FrameCache | None = None):
        if with_scene:
            missing = [s.clip_id for s in samples if s.scene_dir is None]
            if missing:
                raise ClipError(f"two-stream model needs scene frames; {len(missing)} clips have none "
                                f"(first: {missing[0]!r})")
        self.samples = list(samples)
        self.config = config
        self.train = train
        self.with_scene = with_scene
        self.cache = cache

    def __len__(self) -> int:
        return len(self.samples)

    def _load(self, frame_dir: Path, paths: list[Path], idx: np.ndarray) -> np.ndarray:
        c = self.config
        if self.cache is not None:
            return np.asarray(self.cache.frames(frame_dir, paths, size=c.size, channels=c.channels)[idx])
        return read_frames([paths[i] for i in idx], size=c.size, channels=c.channels)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor | int]:
        s = self.samples[i]
        # Torch's RNG is seeded per DataLoader worker (and by train() in the
        # main process), so augmentation is reproducible for a given seed.
        rng = np.random.default_rng(int(torch.randint(2**62, ()))) if self.train else None
        paths = list_frames(s.face_dir)
        idx = sample_indices(len(paths), self.config.frames, rng)
        clips = [self._load(s.face_dir, paths, idx)]
        if self.with_scene:
            scene_paths = list_frames(s.scene_dir)
            # Same moments in time, should the scene folder have another length.
            scene_idx = ((idx + 0.5) * len(scene_paths) / len(paths)).astype(np.int64)
            clips.append(self._load(s.scene_dir, scene_paths, np.minimum(scene_idx, len(scene_paths) - 1)))
        if rng is not None:
            clips = augment(clips, rng, self.config.size)
        item: dict[str, torch.Tensor | int] = {
            "face": torch.from_numpy(clips[0]).permute(0, 3, 1, 2),
            "label": -1 if s.label is None else s.label,
            "index": i,
        }
        if self.with_scene:
            item["scene"] = torch.from_numpy(clips[1]).permute(0, 3, 1, 2)
        return item


def augment(clips: list[np.ndarray], rng: np.random.Generator, size: int) -> list[np.ndarray]:
    """The same random crop, flip and colour jitter for every frame of each clip."""
    side = int(round(size * rng.uniform(0.8, 1.0)))
    y0, x0 = rng.integers(0, size - side + 1, 2)
    flip = rng.random() < 0.5
    gain, offset = rng.uniform(0.8, 1.2), rng.uniform(-20, 20)
    lut = np.clip(np.arange(256) * gain + offset, 0, 255).astype(np.uint8)
    out = []
    for clip in clips:
        frames = clip[:, y0:y0 + side, x0:x0 + side]
        if side != size:
            frames = np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_LINEAR).reshape(size, size, -1)
                               for f in frames])
        if flip:
            frames = frames[:, :, ::-1]
        out.append(np.ascontiguousarray(lut[frames]))
    return out


def to_model_input(batch: torch.Tensor, config: ClipConfig, device: torch.device) -> torch.Tensor:
    """uint8 (B, T, C, H, W) → normalised float on `device`."""
    x = batch.to(device, non_blocking=True).float().div_(255)
    mean = torch.tensor(config.mean, device=device).view(1, 1, -1, 1, 1)
    std = torch.tensor(config.std, device=device).view(1, 1, -1, 1, 1)
    return x.sub_(mean).div_(std)


def default_workers(device: torch.device) -> int:
    """GPU: enough decoding processes to keep it fed. CPU: decode in the
    main process; the model already uses every core."""
    if device.type == "cuda":
        return max(1, min(16, (os.cpu_count() or 2) - 1))
    return 0


def make_loader(samples: Sequence[Sample], config: ClipConfig, *, batch_size: int, device: torch.device,
                train: bool = False, with_scene: bool = False, num_workers: int | None = None,
                cache: FrameCache | None = None, seed: int = 0) -> DataLoader:
    """A DataLoader that keeps a GPU busy (worker processes, pinned memory,
    persistent workers, deep prefetch) and also works with 0 workers."""
    workers = default_workers(device) if num_workers is None else num_workers
    dataset = ClipDataset(samples, config, train=train, with_scene=with_scene, cache=cache)
    if workers > 0:
        # Forked workers hang in OpenCV if its thread pool was running in the
        # parent, and 15 workers × a pool per core would oversubscribe anyway:
        # OpenCV runs single-threaded in a process that forks decoding workers.
        cv2.setNumThreads(0)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train,
        drop_last=train and len(dataset) > batch_size,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        generator=torch.Generator().manual_seed(seed),
    )
