"""Phone videos: portrait footage stored as landscape frames plus a display
rotation. Ingest must see (and crop) them upright, as every player shows them."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from workers.ingest import create_detector, ingest_video, probe_video


def _sideways_copy(src: Path, dst: Path, *, frames: int = 150) -> None:
    """Frames turned a quarter clockwise, with a display matrix that turns
    them back (a quarter counterclockwise), like a phone held sideways."""
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s_in = inp.streams.video[0]
        stream = out.add_stream("libx264", rate=s_in.average_rate)
        stream.pix_fmt = "yuv420p"
        stream.width, stream.height = s_in.height, s_in.width
        stream.set_display_rotation(90)
        for n, frame in enumerate(inp.decode(s_in)):
            if n >= frames:
                break
            img = np.ascontiguousarray(np.rot90(frame.to_ndarray(format="rgb24"), -1))
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


@pytest.fixture(scope="module")
def sideways(shared_videos, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("rotated") / "sideways.mp4"
    _sideways_copy(shared_videos / "single_face.mp4", dst)
    return dst


def test_probe_reports_the_upright_size(sideways):
    info = probe_video(sideways)
    assert (info.width, info.height, info.rotation) == (640, 360, 1)


def test_a_sideways_phone_video_gives_the_same_clips_as_the_upright_one(shared_videos, sideways, tmp_path):
    detector = create_detector("haar")
    upright = ingest_video(shared_videos / "single_face.mp4", media_root=tmp_path / "a", scene="Fixtures",
                           video_key="upright", detector=detector)
    turned = ingest_video(sideways, media_root=tmp_path / "b", scene="Fixtures", video_key="sideways",
                          detector=detector)
    first = [c for c in upright.clips if c.start_frame + c.frame_count <= 150]
    assert first and len(turned.clips) == len(first)
    for a, b in zip(first, turned.clips):
        assert abs(a.start_frame - b.start_frame) <= 2 and abs(a.frame_count - b.frame_count) <= 4
