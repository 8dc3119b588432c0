"""Frames from disk to model input: sampling, decoding, augmentation, cache, loaders."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from workers.dfer.data import (ClipConfig, ClipDataset, ClipError, FrameCache, Sample, make_loader, read_frames,
                               sample_indices, to_model_input)


def write_clip(folder: Path, frames: list[np.ndarray]) -> Path:
    folder.mkdir(parents=True)
    for i, f in enumerate(frames, 1):
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), f, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return folder


def numbered_frames(n: int, size: int = 224) -> list[np.ndarray]:
    """Frame i is uniformly grey level 10·i (BGR): its value tells which frame it was."""
    return [np.full((size, size, 3), 10 * i, np.uint8) for i in range(n)]


def test_uniform_sampling_spreads_over_the_clip():
    assert sample_indices(32, 4).tolist() == [4, 12, 20, 28]
    assert sample_indices(3, 6).tolist() == [0, 0, 1, 1, 2, 2]  # short clips repeat frames
    rng = np.random.default_rng(0)
    for _ in range(20):
        idx = sample_indices(32, 4, rng)
        assert all(8 * k <= i < 8 * (k + 1) for k, i in enumerate(idx))


def test_read_frames_gives_rgb_at_the_model_size(tmp_path: Path):
    red = np.zeros((224, 224, 3), np.uint8)
    red[..., 2] = 255  # BGR on disk
    clip = write_clip(tmp_path / "c", [red, red])
    frames = read_frames(sorted(clip.iterdir()), size=112, channels=3)
    assert frames.shape == (2, 112, 112, 3) and frames.dtype == np.uint8
    assert frames[..., 0].mean() > 240 and frames[..., 2].mean() < 15
    grey = read_frames(sorted(clip.iterdir()), size=64, channels=1)
    assert grey.shape == (2, 64, 64, 1)


def test_scaled_jpeg_decoding_matches_decode_then_resize(tmp_path: Path):
    img = cv2.GaussianBlur(np.random.default_rng(0).integers(0, 255, (224, 224, 3), np.uint8), (9, 9), 3)
    clip = write_clip(tmp_path / "c", [img])
    fast = read_frames(sorted(clip.iterdir()), size=112, channels=3).astype(float)
    full = cv2.resize(cv2.imread(str(clip / "00001.jpg")), (112, 112), interpolation=cv2.INTER_AREA)
    assert np.abs(fast - full[..., ::-1]).mean() < 2.0


def test_dataset_item_shapes_and_frame_order(tmp_path: Path):
    clip = write_clip(tmp_path / "c", numbered_frames(16, size=64))
    ds = ClipDataset([Sample("c", clip, label=3)], ClipConfig(frames=4, size=32))
    item = ds[0]
    assert item["face"].shape == (4, 3, 32, 32) and item["face"].dtype == torch.uint8
    assert item["label"] == 3
    levels = item["face"].float().mean(dim=(1, 2, 3)).round().tolist()
    assert levels == pytest.approx([20, 60, 100, 140], abs=3)  # frames 2, 6, 10, 14


def test_augmentation_moves_every_frame_alike(tmp_path: Path):
    img = np.zeros((64, 64, 3), np.uint8)
    img[:, :20] = 200  # bright left band
    clip = write_clip(tmp_path / "c", [img] * 6)
    ds = ClipDataset([Sample("c", clip, label=0)], ClipConfig(frames=6, size=32), train=True)
    torch.manual_seed(0)
    seen_flip = set()
    for _ in range(12):
        face = ds[0]["face"].float()
        assert torch.allclose(face, face[:1].expand_as(face), atol=2)  # same transform on each frame
        seen_flip.add(bool(face[0, :, :, -4:].mean() > face[0, :, :, :4].mean()))
    assert seen_flip == {True, False}  # flipped sometimes, not always


def test_frame_cache_serves_clips_without_decoding_again(tmp_path: Path):
    clip = write_clip(tmp_path / "c", numbered_frames(8, size=64))
    cache = FrameCache(tmp_path / "cache")
    ds = ClipDataset([Sample("c", clip)], ClipConfig(frames=4, size=32), cache=cache)
    first = ds[0]["face"]
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 1
    for p in clip.iterdir():  # corrupt the JPEGs: a cache hit must not read them
        p.write_bytes(b"not a jpeg")
    assert torch.equal(ds[0]["face"], first)


def test_missing_or_empty_clip_is_a_clear_error(tmp_path: Path):
    ds = ClipDataset([Sample("x", tmp_path / "nope")], ClipConfig(frames=2, size=32))
    with pytest.raises(ClipError, match="does not exist"):
        ds[0]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClipError, match="no .jpg"):
        ClipDataset([Sample("x", tmp_path / "empty")], ClipConfig(frames=2, size=32))[0]
    with pytest.raises(ClipError, match="scene frames"):
        ClipDataset([Sample("x", tmp_path / "empty")], ClipConfig(), with_scene=True)


def test_loader_gives_the_same_batches_with_or_without_workers(tiny_samples):
    config = ClipConfig(frames=4, size=32)
    cpu = torch.device("cpu")
    a = next(iter(make_loader(tiny_samples, config, batch_size=6, device=cpu, num_workers=0)))
    b = next(iter(make_loader(tiny_samples, config, batch_size=6, device=cpu, num_workers=2)))
    assert torch.equal(a["face"], b["face"]) and a["face"].shape == (6, 4, 3, 32, 32)
    assert a["index"].tolist() == list(range(6))


def test_to_model_input_normalises(tmp_path: Path):
    x = torch.full((1, 2, 3, 4, 4), 255, dtype=torch.uint8)
    y = to_model_input(x, ClipConfig(mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25)), torch.device("cpu"))
    assert y.dtype == torch.float32 and torch.allclose(y, torch.full_like(y, 2.0))
