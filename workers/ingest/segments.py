"""Turn face tracks into candidate clip plans: split long tracks into
consecutive, non-overlapping segments of at most `max_clip_frames`, measure
each, keep the good ones, and drop near-duplicates across tracks."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from workers.ingest.config import IngestConfig
from workers.ingest.tracks import Track, dense_boxes, dense_pose, iou


@dataclass(frozen=True)
class ClipPlan:
    track_index: int
    segment_index: int
    start_frame: int
    boxes: np.ndarray  # (frame_count, 4) x, y, w, h in source px
    median_face_px: float
    confidence: float
    stability: float  # mean IoU of consecutive detections: 1 is a still, steady face
    hit_rate: float
    # From detectors with landmarks, per frame: the face centre (x, y in
    # source px) and the eye-line roll in degrees, for aligned crops. None:
    # crops centre on the box, unrotated.
    centres: np.ndarray | None = None
    angles: np.ndarray | None = None

    @property
    def frame_count(self) -> int:
        return len(self.boxes)

    @property
    def end_frame(self) -> int:
        return self.start_frame + self.frame_count  # exclusive

    def scene_frame_indices(self, n: int) -> list[int]:
        """`n` evenly spaced frames of the clip: first, …, last."""
        if n <= 1:
            return [self.start_frame + self.frame_count // 2]
        last = self.frame_count - 1
        return sorted({self.start_frame + round(i * last / (n - 1)) for i in range(n)})


def split_evenly(n: int, max_len: int) -> list[tuple[int, int]]:
    """[(offset, length)] covering n frames with parts as equal as possible."""
    k = max(1, math.ceil(n / max_len))
    base, extra = divmod(n, k)
    out, pos = [], 0
    for i in range(k):
        length = base + (1 if i < extra else 0)
        out.append((pos, length))
        pos += length
    return out


def plan_clips(
    tracks: list[Track], *, scale: float, stride: int, config: IngestConfig
) -> list[ClipPlan]:
    """`scale` maps detection coordinates to source pixels (divide by it);
    `stride` is the detection sampling step (samples fall on frames ≡ 0 mod stride)."""
    plans: list[ClipPlan] = []
    stable = [t for t in tracks if len(t.obs) >= config.min_track_hits]
    stable.sort(key=lambda t: (t.first_frame, t.id))
    for track_index, track in enumerate(stable):
        frames, boxes = dense_boxes(track, smooth_window=config.smooth_window)
        if len(frames) < config.min_clip_frames:
            continue
        boxes = boxes / scale
        pose = dense_pose(track, smooth_window=config.smooth_window) if config.align_faces else None
        centres, angles = (pose[0] / scale, pose[1]) if pose is not None else (None, None)
        obs_frames = np.array([o.frame for o in track.obs])
        for seg_index, (off, length) in enumerate(split_evenly(len(frames), config.max_clip_frames)):
            if length < config.min_clip_frames:
                continue
            a, b = int(frames[off]), int(frames[off] + length)  # [a, b)
            seg_boxes = boxes[off : off + length]
            in_seg = [o for o, f in zip(track.obs, obs_frames) if a <= f < b]
            samples = len(range(math.ceil(a / stride) * stride, b, stride))
            hit_rate = len(in_seg) / max(samples, 1)
            ious = [iou(p.box, q.box) for p, q in zip(in_seg, in_seg[1:])]
            plan = ClipPlan(
                track_index=track_index,
                segment_index=seg_index,
                start_frame=a,
                boxes=seg_boxes,
                median_face_px=float(np.median(np.sqrt(seg_boxes[:, 2] * seg_boxes[:, 3]))),
                confidence=float(np.mean([o.score for o in in_seg])) if in_seg else 0.0,
                stability=float(np.mean(ious)) if ious else 0.0,
                hit_rate=min(1.0, hit_rate),
                centres=None if centres is None else centres[off : off + length],
                angles=None if angles is None else angles[off : off + length],
            )
            if plan.median_face_px >= config.min_face_px and plan.hit_rate >= config.min_hit_rate:
                plans.append(plan)
    return dedupe(plans, iou_thr=config.dedupe_iou)


def _same_face(p: ClipPlan, q: ClipPlan, iou_thr: float) -> bool:
    a, b = max(p.start_frame, q.start_frame), min(p.end_frame, q.end_frame)
    if b - a < 0.5 * min(p.frame_count, q.frame_count):
        return False
    pb = p.boxes[a - p.start_frame : b - p.start_frame]
    qb = q.boxes[a - q.start_frame : b - q.start_frame]
    return float(np.mean([iou(tuple(x), tuple(y)) for x, y in zip(pb, qb)])) >= iou_thr


def dedupe(plans: list[ClipPlan], *, iou_thr: float) -> list[ClipPlan]:
    """Of two clips from different tracks that show the same face over mostly
    the same frames, keep the better-detected one. Segments of one track never
    overlap, so they are never compared."""
    ranked = sorted(plans, key=lambda p: (p.hit_rate * p.confidence, p.frame_count), reverse=True)
    kept: list[ClipPlan] = []
    for p in ranked:
        if all(p.track_index == k.track_index or not _same_face(p, k, iou_thr) for k in kept):
            kept.append(p)
    return sorted(kept, key=lambda p: (p.track_index, p.segment_index))
