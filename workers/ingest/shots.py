"""Shot boundaries from HSV-histogram differences of consecutive thumbnails.

A hard cut changes the colour distribution of the whole frame at once, while
motion inside a shot mostly moves the same colours around; the Bhattacharyya
distance between consecutive 8×4×4 HSV histograms separates the two well at
thumbnail size, which makes it nearly free per frame."""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Shot:
    start: int  # first frame index
    end: int  # one past the last frame index

    @property
    def frames(self) -> int:
        return self.end - self.start


def hsv_histogram(hsv: np.ndarray) -> np.ndarray:
    hist = cv2.calcHist([hsv], [0, 1, 2], None, [8, 4, 4], [0, 180, 0, 256, 0, 256])
    return cv2.normalize(hist, hist, alpha=1.0, norm_type=cv2.NORM_L1).flatten()


class ShotBoundaryDetector:
    """Fed one thumbnail per frame; `push` says whether that frame starts a new shot.

    `threshold` is on the Bhattacharyya distance (0 same, 1 disjoint);
    `min_shot_frames` stops flashes and fast pans from cutting a shot into slivers."""

    def __init__(self, *, threshold: float = 0.35, min_shot_frames: int = 8) -> None:
        self.threshold = threshold
        self.min_shot_frames = min_shot_frames
        self._prev: np.ndarray | None = None
        self._since_cut = 0
        self.distances: list[float] = []

    def push(self, hsv_thumb: np.ndarray) -> bool:
        hist = hsv_histogram(hsv_thumb)
        cut = False
        if self._prev is not None:
            d = float(cv2.compareHist(self._prev, hist, cv2.HISTCMP_BHATTACHARYYA))
            self.distances.append(d)
            cut = d > self.threshold and self._since_cut >= self.min_shot_frames
        self._prev = hist
        self._since_cut = 0 if cut else self._since_cut + 1
        return cut


def shots_from_cuts(cuts: list[int], frames: int) -> list[Shot]:
    """Frame indices that start a new shot → the list of shots covering [0, frames)."""
    bounds = [0, *[c for c in cuts if 0 < c < frames], frames]
    return [Shot(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
