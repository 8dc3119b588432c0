"""Face tracks inside one shot: IoU association of sampled detections, then
smoothing and linear interpolation to every frame between samples."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from workers.ingest.faces import Box, Detection, Landmarks


def iou(a: Box, b: Box) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


def _overlap_small(a: Box, b: Box) -> float:
    """Intersection over the smaller box: catches a box nested in another."""
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = min(ax + aw, bx + bw) - max(ax, bx)
    ih = min(ay + ah, by + bh) - max(ay, by)
    if iw <= 0 or ih <= 0:
        return 0.0
    return iw * ih / min(aw * ah, bw * bh)


def nms(dets: list[Detection], *, iou_thr: float = 0.3, nested_thr: float = 0.7) -> list[Detection]:
    """One detection per face: cascades report a face and a part of it (or the
    frontal and the profile cascade both fire)."""
    order = sorted(dets, key=lambda d: (d.score, d.box[2] * d.box[3]), reverse=True)
    kept: list[Detection] = []
    for d in order:
        if all(iou(d.box, k.box) <= iou_thr and _overlap_small(d.box, k.box) <= nested_thr for k in kept):
            kept.append(d)
    return kept


@dataclass(frozen=True)
class Observation:
    frame: int
    box: Box
    score: float
    kind: str
    landmarks: Landmarks | None = None


@dataclass
class Track:
    id: int
    obs: list[Observation] = field(default_factory=list)
    missed: int = 0  # consecutive samples without a match

    @property
    def last_box(self) -> Box:
        return self.obs[-1].box

    @property
    def first_frame(self) -> int:
        return self.obs[0].frame

    @property
    def last_frame(self) -> int:
        return self.obs[-1].frame


class Tracker:
    """Greedy IoU association. A track ends after `max_missed` consecutive
    samples without a match, or at a shot cut (`close_all`)."""

    def __init__(self, *, iou_match: float = 0.25, max_missed: int = 3) -> None:
        self.iou_match = iou_match
        self.max_missed = max_missed
        self.active: list[Track] = []
        self.finished: list[Track] = []
        self._next_id = 0

    def unmatched(self, dets: list[Detection]) -> list[Track]:
        """Active tracks that no detection in `dets` would continue."""
        return [t for t in self.active if all(iou(t.last_box, d.box) < self.iou_match for d in dets)]

    def update(self, frame: int, dets: list[Detection]) -> None:
        pairs = sorted(
            ((iou(t.last_box, d.box), ti, di) for ti, t in enumerate(self.active) for di, d in enumerate(dets)),
            reverse=True,
        )
        used_t: set[int] = set()
        used_d: set[int] = set()
        for score, ti, di in pairs:
            if score < self.iou_match:
                break
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            d = dets[di]
            t = self.active[ti]
            t.obs.append(Observation(frame, d.box, d.score, d.kind, d.landmarks))
            t.missed = 0
        still: list[Track] = []
        for ti, t in enumerate(self.active):
            if ti not in used_t:
                t.missed += 1
            if t.missed > self.max_missed:
                self.finished.append(t)
            else:
                still.append(t)
        for di, d in enumerate(dets):
            if di not in used_d:
                still.append(Track(self._next_id, [Observation(frame, d.box, d.score, d.kind, d.landmarks)]))
                self._next_id += 1
        self.active = still

    def close_all(self) -> None:
        self.finished.extend(self.active)
        self.active = []


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Centred mean; the window shrinks at the ends instead of padding."""
    if window <= 1 or len(x) < 2:
        return x.astype(float)
    k = np.ones(min(window, len(x)))
    num = np.convolve(x, k, mode="same")
    den = np.convolve(np.ones_like(x, dtype=float), k, mode="same")
    return num / den


def dense_boxes(track: Track, *, smooth_window: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Boxes for every frame from the track's first to last observation:
    (frames (n,), boxes (n, 4) as x, y, w, h).

    Centre and size are smoothed over `smooth_window` samples before linear
    interpolation, because Haar boxes jitter by several pixels per sample and
    face crops should not shake."""
    f = np.array([o.frame for o in track.obs], float)
    b = np.array([o.box for o in track.obs], float)
    cx = b[:, 0] + b[:, 2] / 2
    cy = b[:, 1] + b[:, 3] / 2
    w, h = b[:, 2], b[:, 3]
    centre_win = max(1, smooth_window // 2 + 1)
    cx, cy = _moving_average(cx, centre_win), _moving_average(cy, centre_win)
    w, h = _moving_average(w, smooth_window), _moving_average(h, smooth_window)
    frames = np.arange(track.first_frame, track.last_frame + 1)
    cx, cy, w, h = (np.interp(frames, f, v) for v in (cx, cy, w, h))
    return frames, np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


def roll_deg(landmarks: Landmarks) -> float:
    """In-plane tilt of the eye line, degrees (positive: the image-right eye
    is lower). Either eye may come first."""
    (ax, ay), (bx, by) = landmarks[0:2], landmarks[2:4]
    if bx < ax:
        ax, ay, bx, by = bx, by, ax, ay
    return float(np.degrees(np.arctan2(by - ay, bx - ax)))


def dense_pose(track: Track, *, smooth_window: int = 5) -> tuple[np.ndarray, np.ndarray] | None:
    """For a track with landmarks on some detections: per frame (as
    `dense_boxes`, whose smoothing this repeats) the face centre, (n, 2), and
    the eye-line roll in degrees, (n,); None without landmarks.

    The centre is the mean of the five points (eyes, nose, mouth corners),
    which stays on the face when the head turns, where a box centre drifts
    toward the ear; the roll levels the eyes in the crop. Landmarks may come
    from a few detections only (full-frame searches): the centre is the box
    centre plus the points' offset from it (in box sides), and both offset
    and roll are interpolated between those detections."""
    obs = [o for o in track.obs if o.landmarks is not None]
    if not obs:
        return None
    frames, boxes = dense_boxes(track, smooth_window=smooth_window)
    f = np.array([o.frame for o in obs], float)
    pts = np.array([o.landmarks for o in obs], float).reshape(len(obs), 5, 2)
    b = np.array([o.box for o in obs], float)
    side = np.maximum(b[:, 2], b[:, 3])
    dx = (pts[:, :, 0].mean(axis=1) - (b[:, 0] + b[:, 2] / 2)) / side
    dy = (pts[:, :, 1].mean(axis=1) - (b[:, 1] + b[:, 3] / 2)) / side
    # Unwrapped so that interpolating between 179° and -179° does not pass 0°.
    roll = np.degrees(np.unwrap(np.radians([roll_deg(o.landmarks) for o in obs])))
    dx, dy, roll = (_moving_average(v, smooth_window) for v in (dx, dy, roll))
    dx, dy, roll = (np.interp(frames, f, v) for v in (dx, dy, roll))
    dense_side = np.maximum(boxes[:, 2], boxes[:, 3])
    cx = boxes[:, 0] + boxes[:, 2] / 2 + dx * dense_side
    cy = boxes[:, 1] + boxes[:, 3] / 2 + dy * dense_side
    return np.stack([cx, cy], axis=1), roll
