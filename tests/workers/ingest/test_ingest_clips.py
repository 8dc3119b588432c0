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


def test_square_crop_pads_outside_the_frame():
    img = np.full((100, 100, 3), 200, np.uint8)
    crop = square_crop(img, (-20, 0, 40, 40), margin=0.0, size=40)
    assert crop.shape == (40, 40, 3)
    assert (crop[:, :20] == 0).all() and (crop[:, 20:] == 200).all()
    assert square_crop(img, (30, 30, 20, 20), margin=0.25, size=224).shape == (224, 224, 3)


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
