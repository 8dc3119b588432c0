"""Face-crop clips from the real fixture videos in ../shared/fixtures/videos,
cut the way fervlab's ingest stores them (224×224 JPEG folders), found with
OpenCV's Haar cascade. For tests that need real faces; they skip without
../shared."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

SHARED_VIDEOS = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "videos"


@dataclass(frozen=True)
class FaceCrop:
    t: float  # seconds into the video
    image: np.ndarray  # BGR uint8, size × size


def shared_video(name: str) -> Path | None:
    path = SHARED_VIDEOS / name
    return path if path.is_file() else None


def face_crops(video: Path, *, every: int = 1, start_s: float = 0.0, end_s: float = float("inf"),
               size: int = 224, margin: float = 0.15) -> list[FaceCrop]:
    """The largest Haar face of every `every`-th frame in [start_s, end_s),
    squared, widened by `margin` of its side on each edge (as fer's offsets
    do), resized to size × size."""
    detector = cv2.CascadeClassifier(str(Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"))
    cap = cv2.VideoCapture(str(video))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    crops, i = [], -1
    while True:
        ok = cap.grab()  # grab without decoding the frames we skip
        if not ok or (i + 1) / fps >= end_s:
            break
        i += 1
        if i % every or i / fps < start_s:
            continue
        ok, frame = cap.retrieve()
        if not ok:
            break
        grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        faces = detector.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(48, 48))
        if len(faces) == 0:
            continue
        x, y, w, h = max(faces, key=lambda b: b[2] * b[3])
        side = max(w, h) * (1 + 2 * margin)
        cx, cy = x + w / 2, y + h / 2
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = int(round(side))
        pad = max(0, -x0, -y0, x0 + s - frame.shape[1], y0 + s - frame.shape[0])
        if pad:
            frame = cv2.copyMakeBorder(frame, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        crop = frame[y0 + pad:y0 + pad + s, x0 + pad:x0 + pad + s]
        crops.append(FaceCrop(i / fps, cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)))
    cap.release()
    return crops


def write_clip(frame_dir: Path, crops: list[FaceCrop]) -> Path:
    frame_dir.mkdir(parents=True, exist_ok=True)
    for n, c in enumerate(crops, 1):
        cv2.imwrite(str(frame_dir / f"{n:05d}.jpg"), c.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return frame_dir
