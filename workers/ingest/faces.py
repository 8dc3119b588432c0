"""Face detectors: a small abstract base, a registry by name, and the default
backend (OpenCV Haar cascades, shipped inside opencv-python-headless, so it
works offline with nothing downloaded).

Why Haar: on the fixtures the frontal cascade, searched on whole frames every
3rd frame, finds the face on 156/158 frames of WolfgangLanger, 24/24 of
single_face, 18–25/40 of carphone's ~61 px face, and nothing on the cartoon
no_face; tracking near the known face (with the profile cascade for head
turns) fills the gaps. The DNN alternatives do not fit offline: opencv's
YuNet needs an .onnx no registry package ships; mediapipe 1.2.3's wheel
carries no BlazeFace .tflite (its Tasks API downloads one) and pulls in the
non-headless opencv-contrib; facenet-pytorch ships MTCNN weights but pins
torch<2.3 and numpy<2, against this project's torch. Known weakness: Haar
cascades miss more faces that are small, turned, blurred or low in contrast
(dim light; the darkest skin tone of synthetic.py's drawn faces is found less
often than the others), so a better backend should register itself here
(`register_detector`, only if its package imports) when one can be installed.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import cv2
import numpy as np

from workers.ingest.decode import resize

Box = tuple[float, float, float, float]  # x, y, w, h


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float  # 0..1, higher is surer
    kind: str = "frontal"

    def shifted(self, dx: float, dy: float) -> Detection:
        x, y, w, h = self.box
        return Detection((x + dx, y + dy, w, h), self.score, self.kind)

    def scaled(self, k: float) -> Detection:
        x, y, w, h = self.box
        return Detection((x * k, y * k, w * k, h * k), self.score, self.kind)


class FaceDetector(ABC):
    """Finds faces in a grey uint8 image (the decoded luma plane, maybe downscaled).

    Subclasses implement `detect`; `detect_near` (used between full-frame
    detections to follow a known face cheaply) has a default that searches a
    window around the previous box."""

    name: ClassVar[str] = "abstract"
    # Smallest face (px, in the image given) the backend can find; the pipeline
    # downscales frames so the smallest wanted face maps onto it.
    native_min_size: ClassVar[int] = 24

    @abstractmethod
    def detect(self, gray: np.ndarray, *, min_size: int, max_size: int | None = None) -> list[Detection]:
        """Faces whose side lies in [min_size, max_size] px."""

    # Near a known face the search window is rescaled so the face measures
    # about this many px: the cost then no longer grows with the face size.
    near_face_px: ClassVar[int] = 48

    def detect_near(self, gray: np.ndarray, box: Box, *, search: float = 0.5) -> list[Detection]:
        """Faces of about the size of `box` in a window around it."""
        roi, (x0, y0), k = near_window(gray, box, search=search, face_px=self.near_face_px)
        lo, hi = near_sizes(box, k, self.native_min_size)
        if min(roi.shape[:2]) < lo:
            return []
        return [d.scaled(1 / k).shifted(x0, y0) for d in self.detect(roi, min_size=lo, max_size=hi)]


def near_sizes(box: Box, k: float, native_min: int) -> tuple[int, int]:
    """Face sizes to accept near a known face (window scaled by k): it may
    have come closer or moved away between two samples, not more."""
    side = max(box[2], box[3]) * k
    return max(native_min, int(side * 0.65)), max(native_min, int(side * 1.5) + 1)


def near_window(
    gray: np.ndarray, box: Box, *, search: float, face_px: int
) -> tuple[np.ndarray, tuple[int, int], float]:
    """The region around `box` (`search` × side added on each side), resized by
    k so the box side becomes `face_px` (never enlarged). Returns (image,
    (x0, y0) of the region in `gray`, k)."""
    x, y, w, h = box
    side = max(w, h, 1.0)
    H, W = gray.shape[:2]
    x0, y0 = max(0, int(x - search * side)), max(0, int(y - search * side))
    x1, y1 = min(W, int(x + w + search * side)), min(H, int(y + h + search * side))
    roi = gray[y0:y1, x0:x1]
    k = min(1.0, face_px / side)
    if k < 1.0 and roi.size:
        roi = resize(roi, (max(1, round(roi.shape[1] * k)), max(1, round(roi.shape[0] * k))))
        k = roi.shape[1] / max(x1 - x0, 1)
    return np.ascontiguousarray(roi), (x0, y0), k


_REGISTRY: dict[str, Callable[..., FaceDetector]] = {}


def register_detector(name: str) -> Callable[[Callable[..., FaceDetector]], Callable[..., FaceDetector]]:
    def deco(factory: Callable[..., FaceDetector]) -> Callable[..., FaceDetector]:
        _REGISTRY[name] = factory
        return factory

    return deco


def available_detectors() -> list[str]:
    return sorted(_REGISTRY)


def create_detector(name: str, **kwargs) -> FaceDetector:
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown face detector {name!r}; available: {', '.join(available_detectors())}") from None
    return factory(**kwargs)


def _neighbours_to_score(n: int) -> float:
    # More merged raw windows → surer; saturates around 30 neighbours.
    return 1.0 - math.exp(-max(int(n), 0) / 10.0)


@register_detector("haar")
class HaarFaceDetector(FaceDetector):
    """Frontal Haar cascade on full frames; near a known face also the profile
    cascade (both orientations) when the frontal one misses, so a track
    survives a head turn. Profile search on whole frames is skipped: it triples
    the cost and adds false positives.

    Measured on the fixtures (every 3rd frame): a full-frame search costs
    ~24 ms at 427×240 with scale step 1.2 (41 ms with 1.1, for 2 more hits in
    158 on WolfgangLanger); near a tracked face, step 1.15 costs ~2.5 ms and
    keeps the face on 155/157 samples. The alt/alt2 cascades were no faster
    on real frames and found fewer faces."""

    name = "haar"
    native_min_size = 24

    def __init__(
        self,
        *,
        scale_factor: float = 1.2,
        near_scale_factor: float = 1.15,
        min_neighbors: int = 4,
        profile: bool = True,
        cascade: str = "haarcascade_frontalface_default.xml",
    ) -> None:
        base = cv2.data.haarcascades
        self.frontal = cv2.CascadeClassifier(base + cascade)
        self.profile = cv2.CascadeClassifier(base + "haarcascade_profileface.xml") if profile else None
        if self.frontal.empty() or (self.profile is not None and self.profile.empty()):
            raise RuntimeError(f"OpenCV Haar cascades not found under {base}")
        self.scale_factor = scale_factor
        self.near_scale_factor = near_scale_factor
        self.min_neighbors = min_neighbors

    def _run(self, cascade, gray, min_size, max_size, kind, scale_factor) -> list[Detection]:
        kwargs = {"maxSize": (max_size, max_size)} if max_size else {}
        boxes, neighbours = cascade.detectMultiScale2(
            gray, scaleFactor=scale_factor, minNeighbors=self.min_neighbors,
            minSize=(min_size, min_size), **kwargs,
        )
        return [
            Detection((float(x), float(y), float(w), float(h)), _neighbours_to_score(n), kind)
            for (x, y, w, h), n in zip(boxes, np.asarray(neighbours).reshape(-1))
        ]

    def detect(self, gray: np.ndarray, *, min_size: int, max_size: int | None = None) -> list[Detection]:
        return self._run(self.frontal, gray, max(min_size, self.native_min_size), max_size, "frontal",
                         self.scale_factor)

    def detect_near(self, gray: np.ndarray, box: Box, *, search: float = 0.5) -> list[Detection]:
        roi, (x0, y0), k = near_window(gray, box, search=search, face_px=self.near_face_px)
        lo, hi = near_sizes(box, k, self.native_min_size)
        if min(roi.shape[:2]) < lo:
            return []
        sf = self.near_scale_factor
        out = self._run(self.frontal, roi, lo, hi, "frontal", sf)
        if not out and self.profile is not None:
            # The cascade knows one orientation; the mirrored window covers the other.
            out = self._run(self.profile, roi, lo, hi, "profile", sf)
            if not out:
                rw = roi.shape[1]
                for d in self._run(self.profile, cv2.flip(roi, 1), lo, hi, "profile", sf):
                    fx, fy, fw, fh = d.box
                    out.append(Detection((rw - fx - fw, fy, fw, fh), d.score, "profile"))
            # A profile box is less trusted than a frontal one.
            out = [Detection(d.box, d.score * 0.8, d.kind) for d in out]
        return [d.scaled(1 / k).shifted(x0, y0) for d in out]
