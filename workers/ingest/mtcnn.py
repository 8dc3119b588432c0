"""MTCNN (Zhang et al. 2016) from facenet-pytorch 2.6.0, whose P/R/O-Net
weights ship inside the wheel (`facenet_pytorch/data/`). Its metadata pins
torch<2.3 and numpy<2, so it is installed with `--no-deps` (plus requests and
tqdm, which its package imports); it runs on this project's torch and numpy.
Registers as "mtcnn" only if `facenet_pytorch` imports.

About twice YuNet's cost per frame, growing with the number of faces (the
R- and O-Net run once per candidate); no false positive seen at 0.9."""
from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np
import torch
from facenet_pytorch import MTCNN

from workers.ingest.faces import Detection, FaceDetector, register_detector


@register_detector("mtcnn")
class MtcnnFaceDetector(FaceDetector):
    name = "mtcnn"
    colour = True
    package = "facenet-pytorch"
    # facenet-pytorch's own default smallest face (P-Net's window is 12 px).
    native_min_size: ClassVar[int] = 20
    near_face_px: ClassVar[int] = 64

    def __init__(self, *, device: str = "cpu", threads: int = 1) -> None:
        self.threads = threads
        self.net = MTCNN(keep_all=True, device=torch.device(device), min_face_size=self.native_min_size,
                         post_process=False, select_largest=False)

    def detect(self, image: np.ndarray, *, min_size: int, max_size: int | None = None) -> list[Detection]:
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if min(image.shape[:2]) < 12:
            return []
        # The image pyramid starts at this face size: smaller faces cost time for nothing.
        self.net.min_face_size = max(12, int(min_size))
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        # One thread, as YuNet: a worker runs one video per process, and on a
        # busy machine torch's second thread made a 427×240 search 16× slower
        # in wall time (3.99 s against 0.25 s, load 22 on 2 cores).
        threads = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                boxes, probs, points = self.net.detect(rgb, landmarks=True)
        finally:
            torch.set_num_threads(threads)
        if boxes is None:
            return []
        # facenet-pytorch returns object arrays on numpy 2: make them floats.
        boxes = np.asarray(np.stack([np.asarray(b, float) for b in boxes]), float).reshape(-1, 4)
        probs = np.asarray(probs, float).reshape(-1)
        points = np.asarray(np.stack([np.asarray(p, float) for p in points]), float).reshape(-1, 10)
        out = []
        for (x1, y1, x2, y2), p, lm in zip(boxes, probs, points):
            w, h = x2 - x1, y2 - y1
            side = max(w, h)
            if side < min_size or (max_size is not None and side > max_size):
                continue
            out.append(Detection((float(x1), float(y1), float(w), float(h)), float(p), "frontal",
                                 tuple(float(v) for v in lm)))
        return out
