"""Video ingest: probe, decode, shots, face detection and tracking, clip
writing. Pure (no database, no web); `workers.tasks` persists the result."""
from workers.ingest.clips import ClipOutput
from workers.ingest.config import IngestConfig
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
from workers.ingest.faces import Detection, FaceDetector, available_detectors, create_detector, register_detector
from workers.ingest.pipeline import IngestResult, ingest_video
from workers.ingest.probe import VideoInfo, probe_video

__all__ = [
    "ClipOutput", "IngestConfig", "IngestResult", "ingest_video", "VideoInfo", "probe_video",
    "FaceDetector", "Detection", "register_detector", "create_detector", "available_detectors",
    "IngestError", "SourceMissingError", "EmptyFileError", "NotAVideoError", "NoVideoStreamError",
    "UnsupportedCodecError", "CorruptVideoError", "TruncatedVideoError",
]
