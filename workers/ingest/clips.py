"""Writing one candidate clip: 224×224 face-crop JPEGs, a few scene frames, an
H.264 preview and a `clip.json`, published with a single rename.

Layout under `media_root` (one directory per clip, so that publishing it is
one atomic `os.replace` — three separate trees could be caught half-renamed):

    clips/<Scene>/<clip_key>/faces/00001.jpg …   FERV39k 2_ClipsforFaceCrop
    clips/<Scene>/<clip_key>/scenes/00001.jpg …  FERV39k 3_ClipsforScenImages
    clips/<Scene>/<clip_key>/preview.mp4
    clips/<Scene>/<clip_key>/clip.json           this ClipOutput
    tmp/<run id>/<clip_key>/                     work in progress, never read
"""
from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from workers.ingest.config import IngestConfig
from workers.ingest.decode import bgr, i420_planes, resize
from workers.ingest.preview import PreviewFormat, PreviewWriter
from workers.ingest.segments import ClipPlan

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def check_name(value: str, what: str) -> str:
    """Scene names and keys become path parts: letters, digits, `_ . -` only."""
    if not _NAME.match(value or "") or ".." in value:
        raise ValueError(
            f"{what} {value!r} must be 1–128 letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return value


def clip_key(video_key: str, track_index: int, segment_index: int) -> str:
    return f"{video_key}-t{track_index:03d}-s{segment_index:02d}"


def clip_rel_dir(scene: str, key: str) -> str:
    return f"clips/{scene}/{key}"


@dataclass
class ClipOutput:
    clip_key: str
    scene: str
    video_key: str
    track_index: int
    segment_index: int
    start_s: float  # source time of the first frame
    end_s: float  # source time just after the last frame
    start_frame: int  # 0-based index in the source's decode order
    frame_count: int
    fps: float
    boxes: list[tuple[int, int, int, int]]  # per frame: face box x, y, w, h in source px
    face_dir: str  # relative to media_root (posix), holds 00001.jpg …
    scene_dir: str
    scene_frames: list[str]  # relative paths of the scene JPEGs
    preview: str  # relative path of the preview video
    preview_codec: str  # "h264" unless this build has no H.264 encoder
    median_face_px: float  # median face-box side, source px
    sharpness: float  # median variance of the Laplacian of the grey face crops
    confidence: float  # mean detector score over the clip's detections, 0..1
    stability: float  # mean IoU of consecutive detections, 0..1
    hit_rate: float  # share of detection samples that found the face, 0..1
    reused: bool = field(default=False, compare=False)  # found finished on disk

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["boxes"] = [list(b) for b in self.boxes]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ClipOutput:
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        d["boxes"] = [tuple(int(v) for v in b) for b in d["boxes"]]
        return cls(**d)


def load_finished(media_root: Path, scene: str, key: str) -> ClipOutput | None:
    """The clip as an earlier run published it, or None."""
    meta = Path(media_root) / clip_rel_dir(scene, key) / "clip.json"
    if not meta.is_file():
        return None
    out = ClipOutput.from_dict(json.loads(meta.read_text()))
    out.reused = True
    return out


def _square(box, margin: float) -> tuple[int, int, int]:
    """(x0, y0, side) of the square around the box's centre with `margin` ×
    side added on each side; even numbers, so 4:2:0 chroma aligns."""
    x, y, w, h = (float(v) for v in box)
    side = max(2, int(round(max(w, h) * (1 + 2 * margin) / 2)) * 2)
    cx, cy = x + w / 2, y + h / 2
    return int(round((cx - side / 2) / 2)) * 2, int(round((cy - side / 2) / 2)) * 2, side


def _crop_padded(img: np.ndarray, x0: int, y0: int, s: int, fill) -> np.ndarray:
    """img[y0:y0+s, x0:x0+s], padded with `fill` where it leaves the image."""
    H, W = img.shape[:2]
    ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(W, x0 + s), min(H, y0 + s)
    if ix1 <= ix0 or iy1 <= iy0:
        return np.full((s, s, *img.shape[2:]), fill, np.uint8)
    crop = img[iy0:iy1, ix0:ix1]
    if (ix0, iy0, ix1, iy1) != (x0, y0, x0 + s, y0 + s):
        crop = cv2.copyMakeBorder(crop, iy0 - y0, y0 + s - iy1, ix0 - x0, x0 + s - ix1, cv2.BORDER_CONSTANT, value=fill)
    return crop


def square_crop(img: np.ndarray, box, *, margin: float, size: int) -> np.ndarray:
    """BGR face crop: the square around the box, black outside the frame, size × size."""
    x0, y0, s = _square(box, margin)
    return resize(_crop_padded(img, x0, y0, s, (0, 0, 0)), (size, size))


def crop_i420(planes, box, *, margin: float, size: int) -> np.ndarray:
    """The same crop taken from Y, U, V planes, as one I420 image
    (size × 3/2, size): no full-frame colour conversion needed."""
    y, u, v = planes
    x0, y0, s = _square(box, margin)
    half = size // 2
    out = np.empty((size * 3 // 2, size), np.uint8)
    out[:size] = resize(_crop_padded(y, x0, y0, s, 16), (size, size))  # Y=16: video black
    chroma = out[size:].reshape(-1)
    chroma[: half * half] = resize(_crop_padded(u, x0 // 2, y0 // 2, s // 2, 128), (half, half)).reshape(-1)
    chroma[half * half :] = resize(_crop_padded(v, x0 // 2, y0 // 2, s // 2, 128), (half, half)).reshape(-1)
    return out


def _downscale(img: np.ndarray, max_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    k = max_side / max(h, w)
    if k >= 1:
        return img
    return resize(img, (max(2, round(w * k)), max(2, round(h * k))))


def publish(tmp_dir: Path, final_dir: Path) -> bool:
    """Move a finished clip into place; the rename is the only visible step.
    False when another run published the same clip first."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp_dir, final_dir)
        return True
    except OSError:
        if (final_dir / "clip.json").is_file():
            shutil.rmtree(tmp_dir, ignore_errors=True)
            return False
        raise


class ClipWriter:
    """Receives the source frames of one clip in order (decoded frames, or BGR
    arrays for generated material) and writes everything into
    `tmp_root/<clip_key>` until `finish` publishes it."""

    def __init__(
        self,
        *,
        media_root: Path,
        tmp_root: Path,
        scene: str,
        video_key: str,
        key: str,
        plan: ClipPlan,
        start_s: float,
        end_s: float,
        rate: Fraction,
        config: IngestConfig,
        preview_fmt: PreviewFormat,
    ) -> None:
        self.media_root = Path(media_root)
        self.plan = plan
        self.config = config
        self.key = check_name(key, "clip key")
        self.rel = clip_rel_dir(scene, self.key)
        self.tmp = Path(tmp_root) / self.key
        (self.tmp / "faces").mkdir(parents=True)
        (self.tmp / "scenes").mkdir()
        self.preview_name = "preview" + preview_fmt.suffix
        self.preview = PreviewWriter(
            self.tmp / self.preview_name, fmt=preview_fmt, size=config.preview_size, rate=rate,
            crf=config.preview_crf, preset=config.preview_preset,
        )
        self._scene_at = plan.scene_frame_indices(config.scene_frames)
        self._scene_files: list[str] = []
        self._sharpness: list[float] = []
        self._next = plan.start_frame
        self._out = ClipOutput(
            clip_key=self.key, scene=scene, video_key=video_key,
            track_index=plan.track_index, segment_index=plan.segment_index,
            start_s=round(start_s, 4), end_s=round(end_s, 4), start_frame=plan.start_frame,
            frame_count=plan.frame_count, fps=float(rate),
            boxes=[tuple(int(round(v)) for v in b) for b in plan.boxes],
            face_dir=f"{self.rel}/faces", scene_dir=f"{self.rel}/scenes", scene_frames=[],
            preview=f"{self.rel}/{self.preview_name}", preview_codec=preview_fmt.codec,
            median_face_px=round(plan.median_face_px, 1), sharpness=0.0,
            confidence=round(plan.confidence, 4), stability=round(plan.stability, 4),
            hit_rate=round(plan.hit_rate, 4),
        )

    def add(self, frame_index: int, frame: av.VideoFrame | np.ndarray) -> None:
        """The next source frame: a decoded frame (cropped in YUV) or a BGR array."""
        if frame_index != self._next:
            raise ValueError(f"clip {self.key}: got frame {frame_index}, expected {self._next}")
        i = frame_index - self.plan.start_frame
        size = self.config.crop_size
        planes = i420_planes(frame) if isinstance(frame, av.VideoFrame) else None
        if planes is None:
            image = frame if isinstance(frame, np.ndarray) else bgr(frame)
            i420 = cv2.cvtColor(square_crop(image, self.plan.boxes[i], margin=self.config.crop_margin, size=size),
                                cv2.COLOR_BGR2YUV_I420)
        else:
            i420 = crop_i420(planes, self.plan.boxes[i], margin=self.config.crop_margin, size=size)
        crop = cv2.cvtColor(i420, cv2.COLOR_YUV2BGR_I420)
        q = [cv2.IMWRITE_JPEG_QUALITY, self.config.jpeg_quality]
        (self.tmp / "faces" / f"{i + 1:05d}.jpg").write_bytes(cv2.imencode(".jpg", crop, q)[1].tobytes())
        _, std = cv2.meanStdDev(cv2.Laplacian(i420[:size], cv2.CV_32F))  # on luma
        self._sharpness.append(float(std[0, 0]) ** 2)
        if self.config.preview_size == size:
            self.preview.add_i420(i420)
        else:
            self.preview.add(resize(crop, (self.config.preview_size, self.config.preview_size)))
        if frame_index in self._scene_at:
            name = f"{len(self._scene_files) + 1:05d}.jpg"
            full = frame if isinstance(frame, np.ndarray) else bgr(frame)
            scene = _downscale(full, self.config.scene_max_side)
            (self.tmp / "scenes" / name).write_bytes(cv2.imencode(".jpg", scene, q)[1].tobytes())
            self._scene_files.append(f"{self.rel}/scenes/{name}")
        self._next += 1

    @property
    def complete(self) -> bool:
        return self._next == self.plan.end_frame

    def finish(self) -> ClipOutput:
        if not self.complete:
            got = self._next - self.plan.start_frame
            raise RuntimeError(f"clip {self.key} got {got}/{self.plan.frame_count} frames")
        self.preview.close()
        self._out.sharpness = round(float(np.median(self._sharpness)), 2)
        self._out.scene_frames = list(self._scene_files)
        (self.tmp / "clip.json").write_text(json.dumps(self._out.to_dict(), indent=1))
        final = self.media_root / self.rel
        if publish(self.tmp, final):
            return self._out
        existing = load_finished(self.media_root, self._out.scene, self.key)
        assert existing is not None
        return existing

    def abort(self) -> None:
        self.preview.abort()
        shutil.rmtree(self.tmp, ignore_errors=True)
