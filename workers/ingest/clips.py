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
    # Which backend found the face, and which build of it ("yuface 2023.5.1").
    detector: str = ""
    detector_version: str = ""
    # Per frame, the square each face crop shows: centre x, y and side in
    # source px, and the turn in degrees that levels the eyes (0 unaligned).
    crops: list[tuple[float, float, float, float]] = field(default_factory=list)
    reused: bool = field(default=False, compare=False)  # found finished on disk

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["boxes"] = [list(b) for b in self.boxes]
        d["crops"] = [list(c) for c in self.crops]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> ClipOutput:
        names = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in names}
        d["boxes"] = [tuple(int(v) for v in b) for b in d["boxes"]]
        d["crops"] = [tuple(float(v) for v in c) for c in d.get("crops", [])]
        return cls(**d)


def load_finished(media_root: Path, scene: str, key: str) -> ClipOutput | None:
    """The clip as an earlier run published it, or None."""
    meta = Path(media_root) / clip_rel_dir(scene, key) / "clip.json"
    if not meta.is_file():
        return None
    out = ClipOutput.from_dict(json.loads(meta.read_text()))
    out.reused = True
    return out


def face_square(box, *, margin: float, centre=None) -> tuple[float, float, float]:
    """(cx, cy, side) of the crop square: the box's longer side with `margin`
    × side added on each side, centred on `centre` (the landmarks' mean, for
    detectors that give them) or on the box."""
    x, y, w, h = (float(v) for v in box)
    side = max(2.0, max(w, h) * (1 + 2 * margin))
    cx, cy = (x + w / 2, y + h / 2) if centre is None else (float(centre[0]), float(centre[1]))
    return cx, cy, side


def _warp(img: np.ndarray, cx: float, cy: float, side: float, angle: float, size: int) -> np.ndarray:
    """The `side`-px square centred at (cx, cy), turned by `angle` degrees
    (counter-clockwise: a face tilted by `angle` comes out level), as size × size.

    Where the square runs past the frame edge the edge pixels are repeated
    (BORDER_REPLICATE), never black: a constant fill put 5–20 px black bars
    into crops of faces near the edge, and those frames train the models.
    Replication rather than shifting the square inside the frame keeps the
    face centred and works for rotated squares too.

    A square much larger than the output is first shrunk by halves
    (INTER_AREA): bilinear warping alone would alias at HD face sizes."""
    # Pixel centres: continuous x = index + 0.5, in the frame and in the crop.
    k = size / side
    m = cv2.getRotationMatrix2D((cx - 0.5, cy - 0.5), angle, k)
    m[0, 2] += (size - 1) / 2 - (cx - 0.5)
    m[1, 2] += (size - 1) / 2 - (cy - 0.5)
    if k < 0.5:
        H, W = img.shape[:2]
        half = side * 0.75 + 2  # covers the square turned by any angle (√2/2 ≈ 0.71), plus the filter
        x0, y0 = max(0, int(cx - half)), max(0, int(cy - half))
        x1, y1 = min(W, int(np.ceil(cx + half))), min(H, int(np.ceil(cy + half)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            f = 2 ** int(np.floor(np.log2(1 / k)))
            roi = img[y0:y1, x0:x1]
            small = resize(roi, (max(1, roi.shape[1] // f), max(1, roi.shape[0] // f)))
            s = np.array([small.shape[1] / roi.shape[1], small.shape[0] / roi.shape[0]])
            # frame index = (small index + 0.5) / s - 0.5 + origin: fold it into the map.
            a = m[:, :2]
            m = np.hstack([a / s, (a @ (np.array([x0, y0]) + 0.5 / s - 0.5) + m[:, 2])[:, None]])
            img = small
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


Square = tuple[float, float, float, float]  # centre x, y, side (source px), turn in degrees


def square_crop(img: np.ndarray, square: Square, *, size: int) -> np.ndarray:
    """BGR face crop of `square`, size × size (see `_warp` for the frame edges)."""
    cx, cy, side, angle = square
    return _warp(img, cx, cy, side, angle, size)


def crop_i420(planes, square: Square, *, size: int) -> np.ndarray:
    """The same crop taken from Y, U, V planes, as one I420 image
    (size × 3/2, size): no full-frame colour conversion needed."""
    y, u, v = planes
    cx, cy, side, angle = square
    half = size // 2
    out = np.empty((size * 3 // 2, size), np.uint8)
    out[:size] = _warp(y, cx, cy, side, angle, size)
    chroma = out[size:].reshape(-1)
    chroma[: half * half] = _warp(u, cx / 2, cy / 2, side / 2, angle, half).reshape(-1)
    chroma[half * half :] = _warp(v, cx / 2, cy / 2, side / 2, angle, half).reshape(-1)
    return out


def _downscale(img: np.ndarray, max_side: int) -> np.ndarray:
    h, w = img.shape[:2]
    k = max_side / max(h, w)
    if k >= 1:
        return img
    return resize(img, (max(2, round(w * k)), max(2, round(h * k))))


def publish(tmp_dir: Path, final_dir: Path) -> bool:
    """Move a finished clip into place; the rename is the only visible step.
    False when a clip is published there already (`tmp_dir` is left as it is)."""
    final_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp_dir, final_dir)
        return True
    except OSError:
        if (final_dir / "clip.json").is_file():
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
        detector: str = "",
        detector_version: str = "",
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
            hit_rate=round(plan.hit_rate, 4), detector=detector, detector_version=detector_version,
            crops=[self._square(i) for i in range(plan.frame_count)],
        )

    def _square(self, i: int) -> Square:
        p = self.plan
        centre = None if p.centres is None else p.centres[i]
        cx, cy, side = face_square(p.boxes[i], margin=self.config.crop_margin, centre=centre)
        angle = 0.0 if p.angles is None else float(p.angles[i])
        return round(cx, 2), round(cy, 2), round(side, 2), round(angle, 2)

    def add(self, frame_index: int, frame: av.VideoFrame | np.ndarray) -> None:
        """The next source frame: a decoded frame (cropped in YUV) or a BGR array."""
        if frame_index != self._next:
            raise ValueError(f"clip {self.key}: got frame {frame_index}, expected {self._next}")
        i = frame_index - self.plan.start_frame
        size = self.config.crop_size
        planes = i420_planes(frame) if isinstance(frame, av.VideoFrame) else None
        square = self._out.crops[i]
        if planes is None:
            image = frame if isinstance(frame, np.ndarray) else bgr(frame)
            i420 = cv2.cvtColor(square_crop(image, square, size=size), cv2.COLOR_BGR2YUV_I420)
        else:
            i420 = crop_i420(planes, square, size=size)
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
        if existing.detector == self._out.detector:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return existing  # another run of the same detector published it first
        # An earlier run with another detector: this run's clip replaces it.
        # Two renames: readers see the old clip or the new one, never a mix.
        old = self.tmp.with_name(self.tmp.name + ".replaced")
        os.replace(final, old)
        os.replace(self.tmp, final)
        shutil.rmtree(old, ignore_errors=True)
        return self._out

    def abort(self) -> None:
        self.preview.abort()
        shutil.rmtree(self.tmp, ignore_errors=True)
