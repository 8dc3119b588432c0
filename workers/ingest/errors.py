"""Typed errors for bad input. Each names the problem in words a person
uploading a file can act on; `code` is a stable token for APIs and logs.

A video in which no face is found is *not* an error: it yields 0 clips."""
from __future__ import annotations

from pathlib import Path


class IngestError(Exception):
    """Base of every input problem the ingest pipeline reports."""

    code = "ingest_error"

    def __init__(self, path: Path | str, detail: str) -> None:
        self.path = Path(path)
        self.detail = detail
        super().__init__(f"{self.path.name}: {detail}")


class SourceMissingError(IngestError):
    code = "missing_file"


class EmptyFileError(IngestError):
    code = "empty_file"


class NotAVideoError(IngestError):
    """The bytes are not a container FFmpeg recognises (e.g. text renamed .mp4)."""

    code = "not_a_video"


class NoVideoStreamError(IngestError):
    """A valid media container without a video stream (audio-only, subtitles)."""

    code = "no_video_stream"


class UnsupportedCodecError(IngestError):
    """The video stream's codec has no decoder in this build of FFmpeg."""

    code = "unsupported_codec"


class CorruptVideoError(IngestError):
    """The container opens but its frames cannot be decoded."""

    code = "corrupt_video"


class TruncatedVideoError(CorruptVideoError):
    """The file stops early: an interrupted upload or copy."""

    code = "truncated_video"



class DetectorError(IngestError):
    """The face detector raised on a frame: a broken backend or a frame it
    cannot take. The video fails; no clip of it is half written."""

    code = "detector_failed"
