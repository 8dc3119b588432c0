"""Face detectors: a small abstract base, a registry by name, and the
always-present backend (OpenCV Haar cascades, shipped inside
opencv-python-headless).

The CNN backends live in their own modules (`yunet.py`: libfacedetection's
YuNet from the `yuface` wheel; `mtcnn.py`: facenet-pytorch's MTCNN) and
register themselves only if their package imports, the PySceneDetect way.
They are loaded on demand: choosing YuNet never imports torch. Without a
name the pipeline takes the best one that loads, in `PREFERENCE` order
(measured in BENCHMARKS.md, "Face detectors"): YuNet finds the small,
dim, blurred and tilted faces Haar misses, at a similar cost per frame;
MTCNN finds them too at about twice YuNet's cost; Haar is the fallback on a
platform without either (yuface has a CPython 3.11 x86_64 wheel only).

Haar's known weakness, kept for that fallback: on the fixtures the frontal
cascade, searched on whole frames every 3rd frame, finds the face on 156/158
frames of WolfgangLanger and 18–25/40 of carphone's ~61 px face, but misses
most faces that are small, turned, blurred or low in contrast.
"""
from __future__ import annotations

import importlib
import importlib.util
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import ClassVar

import cv2
import numpy as np

from workers.ingest.decode import resize

Box = tuple[float, float, float, float]  # x, y, w, h
# Five facial points as x, y pairs, image-left eye first: eye, eye, nose tip,
# mouth corner, mouth corner (YuNet's and MTCNN's order).
Landmarks = tuple[float, ...]


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float  # 0..1, higher is surer
    kind: str = "frontal"
    landmarks: Landmarks | None = None

    def shifted(self, dx: float, dy: float) -> Detection:
        x, y, w, h = self.box
        lm = None if self.landmarks is None else tuple(
            v + (dx if i % 2 == 0 else dy) for i, v in enumerate(self.landmarks))
        return Detection((x + dx, y + dy, w, h), self.score, self.kind, lm)

    def without_landmarks(self) -> Detection:
        return Detection(self.box, self.score, self.kind, None)

    def scaled(self, k: float) -> Detection:
        x, y, w, h = self.box
        lm = None if self.landmarks is None else tuple(v * k for v in self.landmarks)
        return Detection((x * k, y * k, w * k, h * k), self.score, self.kind, lm)


class FaceDetector(ABC):
    """Finds faces in a uint8 image: BGR (H, W, 3) for backends with
    `colour = True`, else grey (H, W), maybe downscaled by the pipeline.

    Subclasses implement `detect`; `detect_near` (used between full-frame
    detections to follow a known face cheaply) has a default that searches a
    window around the previous box. Scores are 0..1; the pipeline drops
    those under `IngestConfig.detect_thresholds[name]`."""

    name: ClassVar[str] = "abstract"
    # Smallest face (px, in the image given) the backend can find; the pipeline
    # downscales frames so the smallest wanted face maps onto it.
    native_min_size: ClassVar[int] = 24
    # True: give it colour (CNNs lose the smallest faces on grey input).
    colour: ClassVar[bool] = False
    # The distribution whose version is recorded with each clip.
    package: ClassVar[str] = ""

    @property
    def version(self) -> str:
        """`<package> <version>`: which build of the model found a face."""
        return package_version(self.package) if self.package else ""

    @abstractmethod
    def detect(self, image: np.ndarray, *, min_size: int, max_size: int | None = None) -> list[Detection]:
        """Faces whose side lies in [min_size, max_size] px."""

    # Near a known face the search window is rescaled so the face measures
    # about this many px: the cost then no longer grows with the face size.
    near_face_px: ClassVar[int] = 48

    def detect_near(self, image: np.ndarray, box: Box, *, search: float = 0.5) -> list[Detection]:
        """Faces of about the size of `box` in a window around it."""
        roi, (x0, y0), k = near_window(image, box, search=search, face_px=self.near_face_px)
        lo, hi = near_sizes(box, k, self.native_min_size)
        if min(roi.shape[:2]) < lo:
            return []
        return [d.scaled(1 / k).shifted(x0, y0) for d in self.detect(roi, min_size=lo, max_size=hi)]


def package_version(dist: str) -> str:
    try:
        return f"{dist} {metadata.version(dist)}"
    except metadata.PackageNotFoundError:
        return dist


def near_sizes(box: Box, k: float, native_min: int) -> tuple[int, int]:
    """Face sizes to accept near a known face (window scaled by k): it may
    have come closer or moved away between two samples, not more."""
    side = max(box[2], box[3]) * k
    return max(native_min, int(side * 0.65)), max(native_min, int(side * 1.5) + 1)


def near_window(
    image: np.ndarray, box: Box, *, search: float, face_px: int
) -> tuple[np.ndarray, tuple[int, int], float]:
    """The region around `box` (`search` × side added on each side), resized by
    k so the box side becomes `face_px` (never enlarged). Returns (image,
    (x0, y0) of the region in `image`, k)."""
    x, y, w, h = box
    side = max(w, h, 1.0)
    H, W = image.shape[:2]
    x0, y0 = max(0, int(x - search * side)), max(0, int(y - search * side))
    x1, y1 = min(W, int(x + w + search * side)), min(H, int(y + h + search * side))
    roi = image[y0:y1, x0:x1]
    k = min(1.0, face_px / side)
    if k < 1.0 and roi.size:
        roi = resize(roi, (max(1, round(roi.shape[1] * k)), max(1, round(roi.shape[0] * k))))
        k = roi.shape[1] / max(x1 - x0, 1)
    return np.ascontiguousarray(roi), (x0, y0), k


_REGISTRY: dict[str, Callable[..., FaceDetector]] = {}

# Best first: the default is the first of these that loads here.
PREFERENCE: tuple[str, ...] = ("yunet", "mtcnn", "haar")
# Optional backends: name → (module that registers it, the package it needs).
# The module is imported on first use, so listing or choosing YuNet never
# imports torch (MTCNN's).
OPTIONAL_BACKENDS: dict[str, tuple[str, str]] = {
    "yunet": ("workers.ingest.yunet", "yuface"),
    "mtcnn": ("workers.ingest.mtcnn", "facenet_pytorch"),
}
# Why an optional backend did not load, for messages: name → reason.
_UNAVAILABLE: dict[str, str] = {}


class UnknownDetectorError(ValueError):
    """A detector name that is not registered here (or whose package failed to import)."""


def register_detector(name: str) -> Callable[[Callable[..., FaceDetector]], Callable[..., FaceDetector]]:
    def deco(factory: Callable[..., FaceDetector]) -> Callable[..., FaceDetector]:
        _REGISTRY[name] = factory
        return factory

    return deco


def _load(name: str) -> bool:
    """Import the backend module of `name` once; True if `name` is registered."""
    if name in _REGISTRY:
        return True
    if name in OPTIONAL_BACKENDS and name not in _UNAVAILABLE:
        module, package = OPTIONAL_BACKENDS[name]
        try:
            importlib.import_module(module)
        except ImportError as exc:  # the package is missing or broken (a --no-deps install lacking a dep)
            _UNAVAILABLE[name] = f"{package} does not import ({exc})"
    return name in _REGISTRY


def available_detectors() -> list[str]:
    """Every backend that works here (imports each optional backend once)."""
    for name in OPTIONAL_BACKENDS:
        _load(name)
    return sorted(_REGISTRY)


def installed_detectors() -> list[str]:
    """The backends whose package is installed, best first, without importing
    them: for the web process, which must not import torch. A package that is
    installed but broken shows here and fails at ingest with a clear message."""
    out = []
    for name in PREFERENCE:
        if name in OPTIONAL_BACKENDS:
            module, package = OPTIONAL_BACKENDS[name]
            try:
                if importlib.util.find_spec(package) is None:
                    continue
            except (ImportError, ValueError):
                continue
        out.append(name)
    return out + sorted(n for n in _REGISTRY if n not in out)  # backends registered by other code


def default_detector() -> str:
    """The best backend that loads here (`PREFERENCE` order)."""
    for name in PREFERENCE:
        if _load(name):
            return name
    raise UnknownDetectorError("no face detector is available")  # haar is always registered: not reached


def check_detector(name: str | None) -> str:
    """`name` if it can be used here, the default for None/""; otherwise an
    `UnknownDetectorError` that lists the available ones."""
    if not name:
        return default_detector()
    if _load(name):
        return name
    why = f" ({_UNAVAILABLE[name]})" if name in _UNAVAILABLE else ""
    raise UnknownDetectorError(
        f"unknown face detector {name!r}{why}; available: {', '.join(available_detectors())}")


def create_detector(name: str | None = None, **kwargs) -> FaceDetector:
    """A detector by name; None: the best available."""
    return _REGISTRY[check_detector(name)](**kwargs)


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
    package = "opencv-python-headless"

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
