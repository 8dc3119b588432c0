"""Bad input gets a typed error that names the problem; no faces is not an error."""
from __future__ import annotations

import av
import numpy as np
import pytest

from workers.ingest import (
    CorruptVideoError,
    EmptyFileError,
    IngestError,
    NotAVideoError,
    NoVideoStreamError,
    SourceMissingError,
    TruncatedVideoError,
    UnsupportedCodecError,
    ingest_video,
    probe_video,
)
from workers.ingest.synthetic import make_test_video


@pytest.fixture(scope="module")
def good_mp4(tmp_path_factory):
    return make_test_video(tmp_path_factory.mktemp("good") / "good.mp4", seconds=1.0, fps=24, faces=1).path


def _faststart_mp4(path):
    with av.open(str(path), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=24)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for i in range(48):
            noise = np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8)
            f = av.VideoFrame.from_ndarray(noise, format="rgb24")
            f.pts = i
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return path


def _audio_only(path):
    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        for i in range(10):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 16000, i * 1024
            c.mux(s.encode(f))
        c.mux(s.encode(None))
    return path


def test_probe_good_file(good_mp4):
    info = probe_video(good_mp4)
    assert (info.codec, info.width, info.height, info.fps, info.frames) == ("h264", 320, 240, 24.0, 24)
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    assert info.to_dict()["frame_rate"] == "24"


def test_missing_file(tmp_path):
    with pytest.raises(SourceMissingError, match="not found"):
        probe_video(tmp_path / "nope.mp4")


def test_zero_bytes(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty"):
        probe_video(p)


def test_text_renamed_mp4(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("shopping list: eggs, milk\n" * 20)
    with pytest.raises(NotAVideoError, match="not a video") as e:
        ingest_video(p, media_root=tmp_path / "m", scene="S", video_key="v")
    assert e.value.code == "not_a_video" and "notes.mp4" in str(e.value)


def test_truncated_mp4_index_at_end(tmp_path, good_mp4):
    data = good_mp4.read_bytes()
    p = tmp_path / "cut.mp4"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedVideoError, match="truncated"):
        probe_video(p)


def test_truncated_mp4_index_first(tmp_path):
    full = _faststart_mp4(tmp_path / "fs.mp4").read_bytes()
    p = tmp_path / "fs_cut.mp4"
    p.write_bytes(full[: int(len(full) * 0.6)])
    with pytest.raises(TruncatedVideoError, match="truncated"):
        probe_video(p)
    assert issubclass(TruncatedVideoError, CorruptVideoError)


def test_audio_only(tmp_path):
    p = _audio_only(tmp_path / "voice.m4a")
    with pytest.raises(NoVideoStreamError, match="no video stream.*audio"):
        probe_video(p)


def test_unsupported_codec(tmp_path, good_mp4):
    # Rename the stream's codec tag: the container is intact, but no decoder
    # in this build knows the codec.
    p = tmp_path / "odd.mp4"
    p.write_bytes(good_mp4.read_bytes().replace(b"avc1", b"qqqq"))
    with pytest.raises(UnsupportedCodecError, match="cannot be decoded"):
        ingest_video(p, media_root=tmp_path / "m", scene="S", video_key="v")


def test_every_error_is_an_ingest_error():
    for cls in (SourceMissingError, EmptyFileError, NotAVideoError, NoVideoStreamError,
                UnsupportedCodecError, CorruptVideoError, TruncatedVideoError):
        assert issubclass(cls, IngestError) and cls.code != IngestError.code


def test_no_faces_is_not_an_error(tmp_path):
    v = make_test_video(tmp_path / "empty_scene.mp4", seconds=1.0, fps=24, faces=0)
    result = ingest_video(v.path, media_root=tmp_path / "m", scene="S", video_key="v")
    assert result.clips == [] and result.frames == 24
    assert not (tmp_path / "m" / "clips").exists()


def test_bad_names_are_refused(tmp_path, good_mp4):
    for scene, key in (("../etc", "v"), ("S", "a/b"), ("", "v"), ("S", ".hidden")):
        with pytest.raises(ValueError):
            ingest_video(good_mp4, media_root=tmp_path, scene=scene, video_key=key)
