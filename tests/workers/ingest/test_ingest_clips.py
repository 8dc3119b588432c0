"""Clip writing: layout, preview format, atomic publication, idempotency."""
from __future__ import annotations

import json
import os
import time

import av
import cv2
import numpy as np
import pytest

from workers.ingest.clips import ClipOutput, load_finished, square_crop
from workers.ingest.pipeline import _sweep_tmp
from workers.ingest.preview import preview_format
from workers.ingest.synthetic import write_synthetic_clip


def test_square_crop_repeats_the_frame_edge_outside_it():
    """Defect 11 (issue 12): where the enlarged square runs past the frame,
    the crop repeats the edge pixels instead of showing black bars."""
    img = np.full((100, 100, 3), 200, np.uint8)
    img[:, 0] = 120  # the edge column, to see that it is what is repeated
    crop = square_crop(img, (-20.0 + 20, 20.0, 40.0, 0.0), size=40)  # centre x=0: half the square is outside
    assert crop.shape == (40, 40, 3)
    assert (np.abs(crop[:, :19].astype(int) - 120) <= 1).all() and (crop[:, 22:] == 200).all()
    assert square_crop(img, (40.0, 40.0, 30.0, 0.0), size=224).shape == (224, 224, 3)


def test_turned_square_near_a_corner_has_no_black():
    img = np.full((120, 160, 3), (60, 150, 210), np.uint8)
    crop = square_crop(img, (5.0, 5.0, 80.0, 30.0), size=64)  # three quarters outside, turned 30°
    assert (crop == img[0, 0]).all()


def test_turned_square_levels_a_tilted_line():
    img = np.zeros((200, 200), np.uint8)
    cv2.line(img, (50, 80), (150, 120), 255, 3)  # slopes down to the right by atan(0.4) = 21.8°
    crop = square_crop(img, (100.0, 100.0, 120.0, float(np.degrees(np.arctan2(40, 100)))), size=120)
    rows = np.where(crop.max(axis=1) > 128)[0]
    assert rows.max() - rows.min() <= 6  # level: a 3 px line spans a few rows, not the 40 it did


def test_large_squares_are_shrunk_without_aliasing():
    """A square over twice the output size is shrunk by halves first: a fine
    stripe pattern averages to grey instead of aliasing into bands."""
    img = np.zeros((800, 800), np.uint8)
    img[:, ::2] = 255  # 1 px stripes
    crop = square_crop(img, (400.0, 400.0, 640.0, 0.0), size=80)
    assert abs(float(crop.mean()) - 127.5) < 3 and crop.std() < 3


def test_h264_encoder_is_available():
    # PyAV's wheels bundle libx264; if this fails previews fall back to VP9/WebM.
    assert preview_format().codec == "h264"


def test_synthetic_clip_layout_and_formats(tmp_path):
    out = write_synthetic_clip(tmp_path, "Daily", "demo-0001", frames=16, seed=3)
    assert out.face_dir == "clips/Daily/demo-0001/faces"
    faces = sorted((tmp_path / out.face_dir).iterdir())
    assert [p.name for p in faces] == [f"{i:05d}.jpg" for i in range(1, 17)]
    assert cv2.imread(str(faces[0])).shape == (224, 224, 3)
    assert len(out.scene_frames) == 3 and all((tmp_path / p).is_file() for p in out.scene_frames)
    assert out.frame_count == len(out.boxes) == 16 and out.sharpness > 0
    assert json.loads((tmp_path / "clips/Daily/demo-0001/clip.json").read_text())["clip_key"] == "demo-0001"
    assert ClipOutput.from_dict(out.to_dict()) == out

    preview = tmp_path / out.preview
    head = preview.read_bytes()
    assert head.find(b"moov") < head.find(b"mdat")  # faststart: index first, plays while loading
    with av.open(str(preview)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt, s.width, s.height) == ("h264", "yuv420p", 224, 224)
        assert sum(1 for _ in c.decode(s)) == 16
    assert not any((tmp_path / "tmp").iterdir())  # work dir cleaned


def test_existing_clip_is_reused_not_rewritten(tmp_path):
    first = write_synthetic_clip(tmp_path, "S", "k1", frames=8)
    jpg = tmp_path / first.face_dir / "00001.jpg"
    before = jpg.stat().st_mtime_ns
    again = write_synthetic_clip(tmp_path, "S", "k1", frames=8, seed=99)
    assert again.reused and again == first and jpg.stat().st_mtime_ns == before


def test_failed_write_leaves_no_visible_clip(tmp_path, monkeypatch):
    from workers.ingest import clips

    calls = {"n": 0}
    real_add = clips.ClipWriter.add

    def dying_add(self, i, frame):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt("worker killed")
        real_add(self, i, frame)

    monkeypatch.setattr(clips.ClipWriter, "add", dying_add)
    with pytest.raises(KeyboardInterrupt):
        write_synthetic_clip(tmp_path, "S", "k2", frames=8)
    assert not (tmp_path / "clips").exists() or not any((tmp_path / "clips").rglob("*"))
    assert load_finished(tmp_path, "S", "k2") is None
    monkeypatch.undo()
    assert write_synthetic_clip(tmp_path, "S", "k2", frames=8).frame_count == 8


def test_stale_work_dirs_are_swept(tmp_path):
    old, fresh = tmp_path / "tmp" / "old", tmp_path / "tmp" / "fresh"
    old.mkdir(parents=True)
    fresh.mkdir()
    t = time.time() - 3 * 24 * 3600
    os.utime(old, (t, t))
    _sweep_tmp(tmp_path / "tmp")
    assert not old.exists() and fresh.exists()


def test_stored_crops_of_a_face_at_the_frame_edge_have_no_black_bars(tmp_path):
    """Defect 11 (issue 12), end to end: a face 2 px from the left edge; the
    enlarged crop runs ~14 px past it. The stored JPEGs repeat the edge (the
    grey background) instead of black columns."""
    from tests.workers.ingest.conftest import write_square_video
    from workers.ingest import IngestConfig, ingest_video

    path = tmp_path / "edge.mp4"
    write_square_video(path, frames=48, fps=24, visible=range(0, 48), x0=2, drift=0.0, background=90)
    r = ingest_video(path, media_root=tmp_path / "m", scene="Lab", video_key="edge",
                     config=IngestConfig(detector="test-blob", detect_fps=8.0))
    assert r.clips
    for c in r.clips:
        assert c.crops[0][0] - c.crops[0][2] / 2 < 0  # the square does leave the frame
        outside = round(-(c.crops[0][0] - c.crops[0][2] / 2) / c.crops[0][2] * 224)  # crop columns left of x=0
        for name in ("00001.jpg", f"{c.frame_count:05d}.jpg"):
            crop = cv2.imread(str(tmp_path / "m" / c.face_dir / name)).astype(int)
            # Those columns show the frame's grey edge in every channel, not black (or any other fill).
            assert outside > 20 and np.abs(crop[:, : outside - 2] - 90).max() <= 12
