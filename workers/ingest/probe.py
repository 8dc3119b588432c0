"""Probe a file with PyAV: what it holds, or a typed error saying why it is
unusable. Cheap enough to run at upload time (opens the container, walks the
MP4 box table, decodes one frame)."""
from __future__ import annotations

import dataclasses
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error

from workers.ingest.errors import (
    CorruptVideoError,
    EmptyFileError,
    IngestError,
    NotAVideoError,
    NoVideoStreamError,
    SourceMissingError,
    TruncatedVideoError,
    UnsupportedCodecError,
)

# Magic bytes of containers, to tell "damaged video" from "not a video" when
# FFmpeg refuses to open a file.
_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),  # MP4 / MOV / 3GP (ISO BMFF)
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM
    (0, b"FLV"),
    (0, b"OggS"),
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"\x30\x26\xb2\x75"),  # ASF / WMV
)


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    container: str
    codec: str
    width: int
    height: int
    fps: float
    frame_rate: Fraction
    frames: int  # from the container index, else estimated from duration × fps
    frames_exact: bool
    duration_s: float
    pix_fmt: str
    has_audio: bool
    size_bytes: int
    # Quarter turns counterclockwise that display needs (0–3); width and
    # height are the upright ones. Known only when a frame was decoded.
    rotation: int = 0

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
        d["frame_rate"] = str(self.frame_rate)
        return d


def _looks_like_container(head: bytes) -> bool:
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return True
    if len(head) >= 189 and head[0] == 0x47 and head[188] == 0x47:  # MPEG-TS sync bytes
        return True
    return any(head[off : off + len(sig)] == sig for off, sig in _SIGNATURES)


def _iso_bmff_truncated(path: Path, size: int) -> bool:
    """True when an MP4/MOV top-level box claims to reach past the end of the
    file: the signature of an interrupted upload or copy."""
    pos = 0
    with path.open("rb") as f:
        while pos < size:
            f.seek(pos)
            header = f.read(16)
            if len(header) < 8:
                return True
            box_size, kind = struct.unpack(">I4s", header[:8])
            if not kind.isascii():
                return False  # not ISO BMFF after all: let FFmpeg decide
            if box_size == 1:
                if len(header) < 16:
                    return True
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:  # box runs to end of file
                return False
            if box_size < 8:
                return False
            pos += box_size
    return pos > size


def check_file(path: Path) -> int:
    """Errors that need no FFmpeg: missing, empty, truncated MP4. Returns the size."""
    path = Path(path)
    if not path.is_file():
        raise SourceMissingError(path, "file not found")
    size = path.stat().st_size
    if size == 0:
        raise EmptyFileError(path, "the file is empty (0 bytes)")
    with path.open("rb") as f:
        head = f.read(512)
    if head[4:8] == b"ftyp" and _iso_bmff_truncated(path, size):
        raise TruncatedVideoError(
            path, f"the MP4 file is truncated: it stops early at {size} bytes (interrupted upload or copy?)"
        )
    return size


def open_container(path: Path) -> av.container.InputContainer:
    """Open with PyAV, mapping FFmpeg's refusal to a typed error."""
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError as e:
        with Path(path).open("rb") as f:
            head = f.read(512)
        if _looks_like_container(head):
            raise TruncatedVideoError(
                path, f"the file looks like a video container but is damaged or truncated ({e.strerror})"
            ) from e
        raise NotAVideoError(
            path, "not a video file: FFmpeg does not recognise its format"
        ) from e


def video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The main video stream (cover-art pictures skipped), decodable by this build."""
    streams = [s for s in container.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
    if not streams:
        kinds = sorted({s.type for s in container.streams}) or ["nothing"]
        raise NoVideoStreamError(path, f"no video stream: the file holds only {', '.join(kinds)}")
    stream = streams[0]
    if stream.codec_context is None:
        tag = _codec_tag(stream)
        raise UnsupportedCodecError(
            path, f"the video codec{f' {tag!r}' if tag else ''} cannot be decoded by this build of FFmpeg"
        )
    return stream


def _codec_tag(stream) -> str:
    try:
        return str(stream.codec_tag or "").strip("\x00 ")
    except Exception:  # older PyAV lacks codec_tag on codec-less streams
        return ""


def frame_rate(stream) -> Fraction:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0 and rate < 1000:
            return Fraction(rate)
    return Fraction(25)


def quarter_turns(frame: av.VideoFrame) -> int:
    """How many quarter turns counterclockwise (0–3) the frame's display
    matrix asks for: phones store portrait video as landscape frames plus
    this matrix, and every player applies it."""
    try:
        degrees = float(frame.rotation or 0)
    except (AttributeError, ValueError):
        return 0
    return int(round(degrees / 90)) % 4 if degrees == degrees else 0  # NaN: singular matrix


def probe_video(path: Path | str, *, check_decode: bool = True) -> VideoInfo:
    """What the video is, or an `IngestError` naming why it cannot be used.

    With `check_decode`, one frame is decoded so an undecodable stream is
    rejected here rather than in the worker."""
    path = Path(path)
    size = check_file(path)
    with open_container(path) as container:
        stream = video_stream(container, path)
        cc = stream.codec_context
        rate = frame_rate(stream)
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000
        else:
            duration = 0.0
        frames = int(stream.frames or 0)
        exact = frames > 0
        if not exact:
            frames = int(round(duration * float(rate)))
        info = VideoInfo(
            path=path,
            container=container.format.name,
            codec=cc.name,
            width=int(cc.width),
            height=int(cc.height),
            fps=float(rate),
            frame_rate=rate,
            frames=frames,
            frames_exact=exact,
            duration_s=duration,
            pix_fmt=str(cc.format.name if cc.format else cc.pix_fmt or ""),
            has_audio=bool(container.streams.audio),
            size_bytes=size,
        )
        if check_decode:
            turns = quarter_turns(_decode_first_frame(container, stream, path))
            if turns:
                info = dataclasses.replace(info, rotation=turns)
                if turns % 2:
                    info = dataclasses.replace(info, width=info.height, height=info.width)
    if info.width <= 0 or info.height <= 0:
        raise CorruptVideoError(path, "the video stream has no frame size")
    return info


def _decode_first_frame(container, stream, path: Path):
    try:
        for frame in container.decode(stream):
            return frame
    except av.error.DecoderNotFoundError as e:
        name = stream.codec_context.name
        raise UnsupportedCodecError(path, f"the video codec {name!r} cannot be decoded by this build") from e
    except av.error.FFmpegError as e:
        raise CorruptVideoError(path, f"the video stream cannot be decoded ({e.strerror})") from e
    raise TruncatedVideoError(path, "no frame could be decoded: the video data is missing or truncated")


__all__ = ["VideoInfo", "probe_video", "IngestError"]
