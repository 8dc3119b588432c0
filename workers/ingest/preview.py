"""Browser-playable preview of a face clip: H.264, yuv420p, MP4 with the index
up front (faststart) so playback starts before the download ends.

PyAV's wheels bundle libx264. Should a build lack every H.264 encoder, VP9 in
WebM is the next thing all current browsers play; MPEG-4 part 2 is a last
resort that plays in VLC, not in browsers."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

# (encoder, container format, file suffix, codec label), best first
_CANDIDATES: tuple[tuple[str, str, str, str], ...] = (
    ("libx264", "mp4", ".mp4", "h264"),
    ("libopenh264", "mp4", ".mp4", "h264"),
    ("libvpx-vp9", "webm", ".webm", "vp9"),
    ("libvpx", "webm", ".webm", "vp8"),
    ("mpeg4", "mp4", ".mp4", "mpeg4"),
)


@dataclass(frozen=True)
class PreviewFormat:
    encoder: str
    container: str
    suffix: str
    codec: str  # what the file holds: "h264" normally


def preview_format() -> PreviewFormat:
    """The best encoder this PyAV build has, H.264 first."""
    available = av.codecs_available
    for encoder, container, suffix, codec in _CANDIDATES:
        if encoder in available:
            try:
                av.codec.Codec(encoder, "w")
            except Exception:
                continue
            return PreviewFormat(encoder, container, suffix, codec)
    raise RuntimeError("this PyAV build has no usable video encoder for previews")


class PreviewWriter:
    """Feed BGR frames of one size; `close` finishes the file."""

    def __init__(
        self, path: Path, *, fmt: PreviewFormat, size: int, rate: Fraction, crf: int = 26, preset: str = "veryfast"
    ) -> None:
        options = {"movflags": "faststart"} if fmt.container == "mp4" else {}
        self._container = av.open(str(path), mode="w", format=fmt.container, options=options)
        # The encoder's time base needs a sane denominator; 1001-based rates stay exact.
        rate = Fraction(rate).limit_denominator(1001)
        stream = self._container.add_stream(fmt.encoder, rate=rate)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        if fmt.encoder == "libx264":
            # One thread: at 224² x264's frame threads cost more in hand-offs
            # (and in waiting on a busy machine) than they save.
            stream.options = {"preset": preset, "crf": str(crf), "threads": "1"}
        elif fmt.encoder.startswith("libvpx"):
            stream.options = {"crf": str(crf + 6), "b:v": "0", "deadline": "realtime", "cpu-used": "8"}
        elif fmt.encoder == "libopenh264":
            stream.bit_rate = 400_000
        stream.codec_context.time_base = 1 / rate
        self._stream = stream
        self._n = 0

    def add(self, bgr: np.ndarray) -> None:
        # OpenCV's colour conversion is ~30× cheaper than the swscale one
        # PyAV would apply inside encode().
        self.add_i420(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420))

    def add_i420(self, i420: np.ndarray) -> None:
        """One frame as an I420 array (height × 3/2, width)."""
        frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
        frame.pts = self._n
        frame.time_base = self._stream.codec_context.time_base
        self._n += 1
        self._container.mux(self._stream.encode(frame))

    def close(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))
        finally:
            self._container.close()

    def abort(self) -> None:
        try:
            self._container.close()
        except Exception:
            pass
