"""YuNet (libfacedetection's CNN, the model behind OpenCV's FaceDetectorYN)
from the `yuface` wheel: the model is compiled into the library, nothing is
downloaded. Registers as "yunet" only if `yuface` imports (it has a CPython
3.11 x86_64 wheel only; elsewhere the registry falls back, see faces.py).

Measured on WolfgangLanger tiled n×n (12 frames, threshold 0.8): 99.7% of
faces ~23 px wide, 94% at ~16 px in a 640×360 frame, but 81% at ~20 px in
a 320×180 one; hence `native_min_size` 24. Dim, blurred and tilted faces: bench/detect.py
(BENCHMARKS.md, "Face detectors"). Issue 13 saw its false positives score
0.65–0.75 and real faces ≥ 0.87 (the threshold is
`IngestConfig.detect_thresholds["yunet"]`)."""
from __future__ import annotations

import ctypes
from pathlib import Path
from typing import ClassVar

import cv2
import numpy as np
import yuface
from yuface import c_detect

from workers.ingest.faces import Detection, FaceDetector, register_detector


def _omp_set_num_threads():
    """The wheel's own libgomp, or None. OpenMP threads spin while they wait:
    on a busy machine two of them made a 640×360 search 2–5× slower in wall
    time for the same CPU time, and a worker already runs one video per
    process, so the search runs on the calling thread."""
    libs = Path(yuface.__file__).resolve().parent.parent / "yuface.libs"
    for lib in sorted(libs.glob("libgomp*.so*")):
        try:
            return ctypes.CDLL(str(lib)).omp_set_num_threads
        except (OSError, AttributeError):
            return None
    return None


@register_detector("yunet")
class YuNetFaceDetector(FaceDetector):
    name = "yunet"
    colour = True
    package = "yuface"
    native_min_size: ClassVar[int] = 24
    # The face fills a quarter of a 2×-side window; at 64 px YuNet keeps it
    # on every sample of the fixtures (48 px loses some), for ~1 ms.
    near_face_px: ClassVar[int] = 64

    def __init__(self, *, threads: int = 1, floor: float = 0.5) -> None:
        self.threads = threads
        self.floor = floor  # scores below this are not returned at all
        self._set_threads = _omp_set_num_threads()

    def detect(self, image: np.ndarray, *, min_size: int, max_size: int | None = None) -> list[Detection]:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if min(image.shape[:2]) < 8:
            return []
        if self._set_threads is not None:
            self._set_threads(self.threads)  # per call: the setting belongs to the calling thread
        rows = c_detect(np.ascontiguousarray(image, dtype=np.uint8)).astype(np.float64)
        out = []
        for r in rows:
            score, (x, y, w, h) = r[0] / 100.0, r[1:5]
            side = max(w, h)
            if score < self.floor or side < min_size or (max_size is not None and side > max_size):
                continue
            out.append(Detection((float(x), float(y), float(w), float(h)), float(min(score, 1.0)), "frontal", tuple(float(v) for v in r[5:15])))
        return out
