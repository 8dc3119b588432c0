"""Settings of the ingest pipeline, with defaults that fit FERV39k."""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class IngestConfig:
    # --- detection -------------------------------------------------------
    # A registered backend's name; None: the best one available here
    # (yunet → mtcnn → haar, see workers/ingest/faces.py).
    detector: str | None = None
    # Score a detection needs, per backend (0..1). Issue 13 measured YuNet's
    # false positives at 0.65–0.75 (palm leaves) and real faces ≥ 0.87, and
    # no MTCNN false positive at 0.9; at these values bench/detect.py finds
    # every plain fixture face and no false positive on the cartoon or the
    # hard variants (BENCHMARKS.md, "Face detectors"). Haar's score is its
    # neighbour count squashed to 0..1: `min_neighbors` already filters it.
    detect_thresholds: Mapping[str, float] = field(
        default_factory=lambda: {"yunet": 0.8, "mtcnn": 0.9, "haar": 0.0})
    # Detection samples per second of video; frames between samples get
    # interpolated boxes. 6/s is every 4th frame at 24 fps, every 5th at 30.
    detect_fps: float = 6.0
    # While faces are tracked, a full-frame search (for new faces) runs every N
    # samples; the samples between only search near the tracked faces, which
    # costs ~2.5 ms instead of ~24 ms at 360p.
    full_detect_every: int = 8
    # With no face tracked, full-frame searches run on every N-th sample: a
    # new face is then found within 1/3 s, at half the cost on faceless video.
    idle_detect_every: int = 2
    # Smallest face searched for, in source px. Deliberately below
    # `min_face_px`: a face whose median size is just above the clip rule
    # (carphone's is ~61 px) has frames below it, and a detector that missed
    # those would break the track into slivers.
    detect_min_face_px: int = 36
    # Frames are downscaled for detection so `detect_min_face_px` maps onto the
    # detector's smallest window, but never below this long side (small
    # sources such as 176×144 are searched at full size) ...
    detect_min_side: int = 320
    # ... and never above this one (HD sources are searched at 640 px, so their
    # smallest findable face is larger than `detect_min_face_px`).
    detect_max_side: int = 640

    # --- tracking ----------------------------------------------------------
    iou_match: float = 0.25
    max_missed: int = 3  # samples (0.5 s at 6/s) a track may go undetected
    smooth_window: int = 5  # samples over which box size is averaged
    min_track_hits: int = 3  # detections needed before a track counts as a face

    # --- shots ----------------------------------------------------------
    # Bhattacharyya distance of consecutive HSV histograms. Inside the
    # fixtures' shots it never exceeds 0.13; hard cuts between generated
    # scenes measure ~0.8. Gradual transitions (dissolves) are not cut.
    shot_threshold: float = 0.35
    min_shot_frames: int = 8

    # --- clips ----------------------------------------------------------
    # FERV39k clips hold 8–47 face frames (median 28) at the source rate.
    min_clip_frames: int = 8
    max_clip_frames: int = 48
    # Median side of the detector's face box over the clip, in source px (the
    # Haar box spans brows to chin; the crop shows 1.5× that). 48 px keeps
    # crops from being blown up more than ~3× to 224 px, and still admits
    # carphone.mp4's 176×144 face (box ~61 px), which is searched at full
    # resolution thanks to `detect_min_side`. Measured on the median, since a
    # face near the limit has single frames below it.
    min_face_px: int = 48
    min_hit_rate: float = 0.34  # share of samples in a clip with a real detection
    dedupe_iou: float = 0.5  # two tracks this close over the same frames are one face

    # Decoded frames are kept from the detection pass for clip writing while
    # they fit in this many MiB (360p: ~30 s in 256 MiB); longer videos are
    # decoded twice instead. 0 always decodes twice.
    frame_cache_mb: int = 256

    # --- output ---------------------------------------------------------
    crop_size: int = 224
    crop_margin: float = 0.25  # added on each side, as a fraction of the box side
    # With a detector that gives landmarks: centre each crop on them and turn
    # it so the eyes are level (FERV39k's face crops are aligned faces).
    align_faces: bool = True
    jpeg_quality: int = 90
    scene_frames: int = 3
    scene_max_side: int = 640
    preview_size: int = 224  # px; smaller is cheaper to encode and to stream
    # ultrafast: ~0.4 ms/frame at 224², half of veryfast; ~4× larger files
    # (~250 kbit/s, H.264 Constrained Baseline), still small for a preview.
    preview_crf: int = 28
    preview_preset: str = "ultrafast"

    def threshold_for(self, detector: str) -> float:
        return float(self.detect_thresholds.get(detector, 0.0))

    def replace(self, **changes) -> IngestConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["detect_thresholds"] = dict(self.detect_thresholds)
        return d
