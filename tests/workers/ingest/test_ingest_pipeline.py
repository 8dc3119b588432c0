"""The whole pipeline on generated videos: exact clips with a stub detector,
real Haar detection on drawn faces, reruns, progress, failures."""
from __future__ import annotations

import pytest

from workers.ingest import IngestConfig, available_detectors, ingest_video
from workers.ingest.tracks import iou

# Pinned so the expected numbers below do not move with the defaults.
BLOB = IngestConfig(detector="test-blob", detect_fps=8.0, idle_detect_every=2, full_detect_every=8)


def test_square_track_becomes_exact_clips(tmp_path, square_video):
    path, truth = square_video
    r = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=BLOB)
    # 24 fps → a sample every 3rd frame; with nothing tracked, full-frame
    # search on every 2nd sample (frames 0, 6, 12, …): the square (frames
    # 10–99) is found at 12 and followed to 99 → 88 frames → 2 clips of 44.
    assert [(c.clip_key, c.start_frame, c.frame_count) for c in r.clips] == [
        ("sq-t000-s00", 12, 44), ("sq-t000-s01", 56, 44)]
    assert (r.frames, r.fps, r.width, r.height, r.codec) == (120, 24.0, 320, 240, "h264")
    assert (r.shots, r.tracks) == ([(0, 120)], 1)
    c = r.clips[0]
    assert c.start_s == pytest.approx(12 / 24, abs=1e-3) and c.end_s == pytest.approx(56 / 24, abs=1e-3)
    for i, box in enumerate(c.boxes):
        assert iou(box, truth[c.start_frame + i]) > 0.9
    assert (c.hit_rate, c.confidence) == (1.0, 0.9) and c.stability > 0.9
    assert (tmp_path / c.face_dir / "00044.jpg").is_file() and not (tmp_path / c.face_dir / "00045.jpg").exists()


def test_rerun_is_idempotent(tmp_path, square_video):
    path, _ = square_video
    cfg = BLOB
    first = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=cfg)
    stamp = (tmp_path / first.clips[0].preview).stat().st_mtime_ns
    second = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=cfg)
    assert [c.clip_key for c in second.clips] == [c.clip_key for c in first.clips]
    assert all(c.reused for c in second.clips) and second.clips == first.clips
    assert (tmp_path / first.clips[0].preview).stat().st_mtime_ns == stamp
    assert sorted(p.name for p in (tmp_path / "clips" / "Lab").iterdir()) == ["sq-t000-s00", "sq-t000-s01"]


def test_progress_is_reported(tmp_path, square_video):
    path, _ = square_video
    calls = []
    ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=BLOB,
                 progress=lambda f, stage: calls.append((f, stage)))
    fractions = [f for f, _ in calls]
    assert calls[0] == (0.0, "probing") and calls[-1] == (1.0, "done")
    assert fractions == sorted(fractions)
    assert {"detecting faces", "writing clips"} <= {s for _, s in calls}


def test_crash_mid_write_publishes_nothing(tmp_path, square_video, monkeypatch):
    from workers.ingest import clips

    path, _ = square_video
    real_add = clips.ClipWriter.add

    def add(self, i, frame):
        if i == 70:  # the first clip is published, the second is half written
            raise RuntimeError("disk full")
        real_add(self, i, frame)

    monkeypatch.setattr(clips.ClipWriter, "add", add)
    with pytest.raises(RuntimeError):
        ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=BLOB)
    assert sorted(p.name for p in (tmp_path / "clips" / "Lab").iterdir()) == ["sq-t000-s00"]
    assert not any((tmp_path / "tmp").iterdir())
    monkeypatch.undo()
    r = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=BLOB)
    assert [c.reused for c in r.clips] == [True, False]


@pytest.mark.parametrize("name", ["haar", "yunet", "mtcnn"])
def test_drawn_faces_with_each_detector(tmp_path, face_video, name):
    """Each real backend on generated faces: two faces, a cut at 1.5 s."""
    if name not in available_detectors():
        pytest.skip(f"{name} is not installed here")
    r = ingest_video(face_video.path, media_root=tmp_path, scene="Lab", video_key="fv",
                     config=IngestConfig(detector=name))
    assert r.detector == name and r.shots == [(0, 36), (36, 72)]
    assert r.detector_version and all((c.detector, c.detector_version) == (name, r.detector_version) for c in r.clips)
    assert len(r.clips) >= 3
    for c in r.clips:
        assert 8 <= c.frame_count <= 48
        shot = (0, 36) if c.start_frame < 36 else (36, 72)
        assert shot[0] <= c.start_frame and c.start_frame + c.frame_count <= shot[1]  # no clip crosses a cut
        match = [max(iou(b, t) for t in face_video.boxes[c.start_frame + i]) for i, b in enumerate(c.boxes)]
        assert min(match) > 0.5


def test_result_serialises(tmp_path, square_video):
    path, _ = square_video
    r = ingest_video(path, media_root=tmp_path, scene="Lab", video_key="sq", config=BLOB)
    d = r.to_dict()
    assert d["clips"][0]["boxes"][0] == list(r.clips[0].boxes[0]) and d["shots"] == [[0, 120]]
    assert set(d["timings"]) >= {"probe", "detect", "write", "total"}


@pytest.mark.parametrize("size,pix_fmt", [((321, 241), "yuv444p"), ((320, 240), "yuv420p10le")])
def test_odd_sizes_and_other_pixel_formats(tmp_path, size, pix_fmt):
    """Sources that are not 8-bit 4:2:0 of even size take the conversion paths."""
    import av
    import cv2
    import numpy as np

    from workers.ingest.clips import square_crop
    from workers.ingest.synthetic import render_frames

    path = tmp_path / "odd.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = *size, pix_fmt
        for i, (img, _) in enumerate(render_frames(frames=40, size=size, faces=1, face_px=80, cuts=[], seed=0)):
            f = av.VideoFrame.from_ndarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), format="rgb24")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    r = ingest_video(path, media_root=tmp_path / "m", scene="S", video_key="o", config=IngestConfig(preview_size=160))
    assert (r.width, r.height) == size and len(r.clips) == 1
    crop = cv2.imread(str(tmp_path / "m" / r.clips[0].face_dir / "00001.jpg"))
    assert crop.shape == (224, 224, 3)
    # Same picture as cropping the rendered frame directly: colours survive
    # the format conversions (up to codec error).
    first = next(iter(render_frames(frames=1, size=size, faces=1, face_px=80, cuts=[], seed=0)))[0]
    c = r.clips[0]
    expected = square_crop(first, c.crops[0], size=224)
    assert c.start_frame == 0 and np.abs(crop.astype(int) - expected).mean() < 8
    with av.open(str(tmp_path / "m" / r.clips[0].preview)) as p:
        assert p.streams.video[0].width == 160


def test_second_decode_gives_the_same_clips(tmp_path, face_video):
    """Frames kept from the detection pass or decoded again: same files."""
    kept = ingest_video(face_video.path, media_root=tmp_path / "a", scene="S", video_key="v")
    again = ingest_video(face_video.path, media_root=tmp_path / "b", scene="S", video_key="v",
                         config=IngestConfig(frame_cache_mb=0))
    assert [c.to_dict() for c in kept.clips] == [c.to_dict() for c in again.clips]
    for c in kept.clips:
        for name in ("00001.jpg", f"{c.frame_count:05d}.jpg"):
            a, b = (tmp_path / root / c.face_dir / name for root in ("a", "b"))
            assert a.read_bytes() == b.read_bytes()
