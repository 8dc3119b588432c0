"""Shared material for the ingest tests: generated videos, a stub detector,
and the real fixtures under ../shared (skipped when absent)."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from workers.ingest.faces import Detection, FaceDetector, register_detector

REPO = Path(__file__).resolve().parents[3]
SHARED_VIDEOS = REPO.parent / "shared" / "fixtures" / "videos"


@pytest.fixture(scope="session")
def shared_videos() -> Path:
    if not SHARED_VIDEOS.is_dir():
        pytest.skip("../shared/fixtures/videos is absent")
    return SHARED_VIDEOS


@register_detector("test-blob")
class BlobDetector(FaceDetector):
    """Stub 'face' detector for exact tests: every bright square is a face."""

    name = "test-blob"
    native_min_size = 8

    def detect(self, gray, *, min_size, max_size=None):
        n, _, stats, _ = cv2.connectedComponentsWithStats((gray > 128).astype(np.uint8))
        out = []
        for x, y, w, h, _area in stats[1:n]:
            side = max(w, h)
            if side >= min_size and (max_size is None or side <= max_size):
                out.append(Detection((float(x), float(y), float(w), float(h)), 0.9))
        return out


def write_square_video(path: Path, *, frames: int, fps: int, visible: range, side: int = 64,
                       size: tuple[int, int] = (320, 240), drift: float = 0.5, x0: int = 60,
                       background: int = 0) -> list[tuple | None]:
    """A white square on black, present on the frames in `visible`, moving
    right by `drift` px a frame. Returns its box per frame (None when absent)."""
    w, h = size
    boxes = []
    with av.open(str(path), mode="w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "10"}
        for i in range(frames):
            img = np.full((h, w, 3), background, np.uint8)
            box = None
            if i in visible:
                x = int(round(x0 + drift * i))
                img[100 : 100 + side, x : x + side] = 255
                box = (float(x), 100.0, float(side), float(side))
            boxes.append(box)
            f = av.VideoFrame.from_ndarray(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return boxes


@pytest.fixture(scope="session")
def square_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("square") / "square.mp4"
    boxes = write_square_video(path, frames=120, fps=24, visible=range(10, 100))
    return path, boxes


@pytest.fixture(scope="session")
def face_video(tmp_path_factory):
    from workers.ingest.synthetic import make_test_video

    return make_test_video(tmp_path_factory.mktemp("faces") / "faces.mp4", seconds=3.0, fps=24,
                           size=(320, 240), faces=2, cuts=[1.5], seed=1)
