"""The pipeline on the real face videos of ../shared/fixtures (skipped when absent)."""
from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from workers.ingest import create_detector, ingest_video, probe_video

EXPECT = {  # video → (min clips, max clips, min share of frames covered)
    "WolfgangLanger_Pexels.mp4": (2, 20, 0.70),
    "single_face.mp4": (1, 4, 0.50),
    "no_face.mp4": (0, 0, 0.0),
    "carphone.mp4": (1, 6, 0.30),
}


@pytest.fixture(scope="module")
def results(shared_videos, tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    detector = create_detector("haar")  # loaded once for the four videos
    return root, {
        name: ingest_video(shared_videos / name, media_root=root, scene="Fixtures",
                           video_key=name.split(".")[0].replace("_", "-"), detector=detector)
        for name in EXPECT
    }


@pytest.mark.parametrize("name", list(EXPECT))
def test_clips_per_video(results, name):
    _, res = results
    r = res[name]
    lo, hi, min_cover = EXPECT[name]
    assert lo <= len(r.clips) <= hi
    covered = sum(c.frame_count for c in r.clips) / r.frames
    assert covered >= min_cover, f"{name}: clips cover {covered:.0%} of the frames"
    for c in r.clips:
        assert 8 <= c.frame_count <= 48 and len(c.boxes) == c.frame_count
        assert c.median_face_px >= 48 and 0 < c.confidence <= 1 and 0 < c.stability <= 1
        assert c.end_s > c.start_s >= 0


def test_wolfgang_is_one_shot_one_face(results):
    r = results[1]["WolfgangLanger_Pexels.mp4"]
    assert (r.width, r.height, r.frames, r.codec) == (640, 360, 472, "h264")
    assert r.duration_s == pytest.approx(19.7, abs=0.1)
    assert r.shots == [(0, 472)]
    assert len({c.track_index for c in r.clips}) == 1
    spans = sorted((c.start_frame, c.start_frame + c.frame_count) for c in r.clips)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:]))  # no overlapping (duplicate) clips


def test_face_crops_show_faces(results):
    """A frontal detector run on the saved crops (middle frame of each clip)
    finds a face in nearly all of them."""
    root, res = results
    det = create_detector("haar")
    crops = [root / c.face_dir / f"{c.frame_count // 2 + 1:05d}.jpg" for r in res.values() for c in r.clips]
    found = sum(bool(det.detect(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE), min_size=60)) for p in crops)
    assert crops and found >= 0.8 * len(crops)


def test_previews_play_in_browsers(results):
    root, res = results
    c = res["single_face.mp4"].clips[0]
    with av.open(str(root / c.preview)) as f:
        s = f.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert sum(1 for _ in f.decode(s)) == c.frame_count


def test_probe_fixtures(shared_videos):
    info = probe_video(shared_videos / "carphone.mp4")
    assert (info.width, info.height, info.frames, info.has_audio) == (176, 144, 120, False)
    assert info.fps == pytest.approx(29.97, abs=0.01)


@pytest.fixture(scope="module")
def default_results(shared_videos, tmp_path_factory):
    """The fixtures with no detector named: the best available one (YuNet here)."""
    from workers.ingest.faces import installed_detectors

    if "yunet" not in installed_detectors():
        pytest.skip("yuface is not installed: the default is another backend")
    root = tmp_path_factory.mktemp("media-default")
    return root, {name: ingest_video(shared_videos / name, media_root=root, scene="Fixtures",
                                     video_key=name.split(".")[0].replace("_", "-")) for name in EXPECT}


@pytest.mark.parametrize("name", list(EXPECT))
def test_default_detector_is_yunet_and_its_clips_play(default_results, name):
    root, res = default_results
    r = res[name]
    lo, hi, _ = EXPECT[name]
    assert r.detector == "yunet" and r.detector_version.startswith("yuface ")
    assert lo <= len(r.clips) <= hi
    for c in r.clips:
        assert (c.detector, c.detector_version) == (r.detector, r.detector_version) and 0.8 <= c.confidence <= 1
        with av.open(str(root / c.preview)) as f:
            assert sum(1 for _ in f.decode(f.streams.video[0])) == c.frame_count


def test_aligned_crops_level_a_tilted_face(shared_videos, tmp_path):
    """single_face turned by 30°: YuNet still tracks it, and the crops turn it
    back, so the eye line in the stored crops is near level."""
    from workers.ingest.faces import installed_detectors
    from workers.ingest.tracks import roll_deg

    if "yunet" not in installed_detectors():
        pytest.skip("yuface is not installed")
    src = tmp_path / "tilted.mp4"
    with av.open(str(shared_videos / "single_face.mp4")) as inp, av.open(str(src), "w") as out:
        s = out.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt, s.options = 640, 360, "yuv420p", {"preset": "ultrafast", "crf": "18"}
        rot = cv2.getRotationMatrix2D((320, 180), 30, 1.0)
        for i, f in enumerate(inp.decode(video=0)):
            img = cv2.warpAffine(f.to_ndarray(format="bgr24"), rot, (640, 360), borderMode=cv2.BORDER_REFLECT)
            g = av.VideoFrame.from_ndarray(img, format="bgr24")
            g.pts = i
            out.mux(s.encode(g))
        out.mux(s.encode(None))
    det = create_detector("yunet")
    r = ingest_video(src, media_root=tmp_path / "m", scene="S", video_key="tilt", detector=det)
    assert r.clips
    src_rolls, crop_rolls = [], []
    with av.open(str(src)) as f:
        frames = [fr.to_ndarray(format="bgr24") for fr in f.decode(video=0)]
    for c in r.clips:
        for j in (0, c.frame_count // 2, c.frame_count - 1):
            found = [d for d in det.detect(frames[c.start_frame + j], min_size=24) if d.score >= 0.8]
            crop = cv2.imread(str(tmp_path / "m" / c.face_dir / f"{j + 1:05d}.jpg"))
            in_crop = [d for d in det.detect(crop, min_size=40) if d.score >= 0.8]
            assert found and in_crop
            src_rolls.append(abs(roll_deg(found[0].landmarks)))
            crop_rolls.append(abs(roll_deg(in_crop[0].landmarks)))
            # centred: the five points' mean lies near the crop centre
            pts = np.array(in_crop[0].landmarks).reshape(5, 2)
            assert np.hypot(*(pts.mean(axis=0) - 111.5)) < 0.1 * 224
    # Measured: 17° → 8.5° (median). YuNet's landmarks under-read the roll of a
    # tilted face (more so for small faces), so one pass levels about half of it.
    assert np.median(src_rolls) > 12 and np.median(crop_rolls) < 0.6 * np.median(src_rolls), (src_rolls, crop_rolls)
