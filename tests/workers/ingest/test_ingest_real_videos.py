"""The pipeline on the real face videos of ../shared/fixtures (skipped when absent)."""
from __future__ import annotations

import av
import cv2
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
