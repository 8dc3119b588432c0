"""Generated material for demos and tests: videos with drawn faces (shaded
enough that OpenCV's frontal Haar cascade fires on them) and complete clips
written without detection, for `fervlab seed-demo`."""
from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from workers.ingest.clips import ClipOutput, ClipWriter, check_name, load_finished
from workers.ingest.config import IngestConfig
from workers.ingest.faces import Box
from workers.ingest.preview import preview_format
from workers.ingest.segments import ClipPlan
from workers.ingest.tracks import iou

_SKINS = ((150, 170, 200), (120, 150, 190), (90, 120, 160), (170, 190, 225), (70, 95, 130))
_HAIR = ((40, 50, 60), (20, 25, 30), (60, 90, 130), (30, 40, 90))


def draw_face(img: np.ndarray, cx: float, cy: float, width: float, *, smile: float = 0.0,
              brows: float = 0.0, skin: tuple[int, int, int] = _SKINS[0],
              hair: tuple[int, int, int] = _HAIR[0]) -> Box:
    """Draw a frontal cartoon face `width` px wide centred at (cx, cy) and
    return the box a frontal face detector puts around it (measured on Haar:
    side ≈ 1.28 × width). `smile` -1..1 bends the mouth, `brows` -1..1 raises them."""
    s, cx, cy = float(width), int(round(cx)), int(round(cy))
    # Haar features are light/dark contrasts: keep hair and brows well below
    # the skin tone whatever it is.
    hair = tuple(int(min(h, 0.5 * c)) for h, c in zip(hair, skin))
    brow = tuple(int(0.3 * c) for c in skin)

    def p(v: float) -> int:
        return max(1, int(round(v * s)))

    cv2.ellipse(img, (cx, cy - p(0.15)), (p(0.62), p(0.75)), 0, 180, 360, hair, -1, cv2.LINE_AA)
    cv2.ellipse(img, (cx, cy), (p(0.5), p(0.65)), 0, 0, 360, skin, -1, cv2.LINE_AA)
    shade = tuple(int(c * 0.8) for c in skin)
    ey = cy - p(0.15)
    for side in (-1, 1):
        ex = cx + side * p(0.2)
        cv2.ellipse(img, (ex, ey - p(0.12 + 0.04 * brows)), (p(0.13), p(0.03)), side * 8 * brows, 0, 360,
                    brow, -1, cv2.LINE_AA)
        cv2.ellipse(img, (ex, ey), (p(0.1), p(0.05)), 0, 0, 360, (240, 240, 240), -1, cv2.LINE_AA)
        cv2.circle(img, (ex, ey), p(0.045), (30, 30, 30), -1, cv2.LINE_AA)
    cv2.line(img, (cx + p(0.05), ey), (cx + p(0.06), cy + p(0.12)), shade, p(0.03), cv2.LINE_AA)
    cv2.ellipse(img, (cx, cy + p(0.14)), (p(0.07), p(0.03)), 0, 0, 360, shade, -1, cv2.LINE_AA)
    my = cy + p(0.32)
    if smile >= 0:
        cv2.ellipse(img, (cx, my), (p(0.18), p(0.04 + 0.06 * smile)), 0, 0, 180, (60, 60, 140), -1, cv2.LINE_AA)
    else:
        cv2.ellipse(img, (cx, my + p(0.05)), (p(0.16), p(-0.06 * smile)), 0, 180, 360, (60, 60, 140), -1,
                    cv2.LINE_AA)
    side = 1.28 * s
    return (cx - side / 2, cy - 0.035 * s - side / 2, side, side)


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Smooth coloured blobs: texture for the shot detector, no face-like edges."""
    base = rng.integers(40, 200, size=3)
    img = np.empty((h, w, 3), np.uint8)
    img[:] = base
    for _ in range(6):
        c = tuple(int(v) for v in rng.integers(0, 255, size=3))
        centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        cv2.circle(img, centre, int(rng.integers(h // 6, h // 2)), c, -1)
    return cv2.GaussianBlur(img, (0, 0), sigmaX=max(3, w // 30))


@dataclass(frozen=True)
class SyntheticVideo:
    path: Path
    frames: int
    fps: float
    size: tuple[int, int]  # w, h
    boxes: list[list[Box]]  # per frame, the drawn faces' expected boxes
    cuts: list[int]  # frames that start a new shot


def render_frames(*, frames: int, size: tuple[int, int], faces: int, face_px: float | None,
                  cuts: list[int], seed: int):
    """Yield (BGR frame, boxes) for a scene with `faces` drifting, changing faces."""
    w, h = size
    rng = np.random.default_rng(seed)
    face_px = face_px or min(w, h) * 0.3
    shot_starts = [0, *sorted(c for c in cuts if 0 < c < frames)]
    for shot_i, start in enumerate(shot_starts):
        end = shot_starts[shot_i + 1] if shot_i + 1 < len(shot_starts) else frames
        bg = _background(rng, w, h)
        slots = [((k + 1) / (faces + 1) * w, h * rng.uniform(0.45, 0.55)) for k in range(faces)]
        looks = [(_SKINS[int(rng.integers(len(_SKINS)))], _HAIR[int(rng.integers(len(_HAIR)))],
                  rng.uniform(0, 2 * np.pi)) for _ in range(faces)]
        for i in range(start, end):
            img = bg.copy()
            boxes = []
            t = (i - start) / 24.0
            for (x, y), (skin, hair, phase) in zip(slots, looks):
                dx = 0.04 * w * np.sin(0.7 * t + phase)
                dy = 0.02 * h * np.sin(0.5 * t + phase)
                size = face_px * (1 + 0.06 * np.sin(0.3 * t + phase))
                boxes.append(draw_face(img, x + dx, y + dy, size, smile=float(np.sin(0.9 * t + phase)),
                                       brows=float(np.cos(0.6 * t + phase)), skin=skin, hair=hair))
            yield img, boxes


def make_test_video(path: Path | str, *, seconds: float = 2.0, fps: int = 24, size: tuple[int, int] = (320, 240),
                    faces: int = 1, face_px: float | None = None, cuts: list[float] | tuple[float, ...] = (),
                    seed: int = 0) -> SyntheticVideo:
    """Write an H.264 MP4 of `faces` drawn faces (0 for none) over a blurred
    background; `cuts` (seconds) are hard cuts to a new background and layout."""
    path = Path(path)
    w, h = size
    if w % 2 or h % 2:
        raise ValueError("size must be even for yuv420p")
    n = max(1, int(round(seconds * fps)))
    cut_frames = sorted({int(round(c * fps)) for c in cuts if 0 < c * fps < n})
    all_boxes: list[list[Box]] = []
    encoder = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(encoder, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if encoder == "libx264":
            stream.options = {"preset": "ultrafast", "crf": "18"}
        for i, (img, boxes) in enumerate(render_frames(frames=n, size=size, faces=faces, face_px=face_px,
                                                        cuts=cut_frames, seed=seed)):
            frame = av.VideoFrame.from_ndarray(cv2.cvtColor(img, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
            frame.pts = i
            container.mux(stream.encode(frame))
            all_boxes.append(boxes)
        container.mux(stream.encode(None))
    return SyntheticVideo(path, n, float(fps), (w, h), all_boxes, cut_frames)


def write_synthetic_clip(media_root: Path | str, scene: str, clip_key: str, *, frames: int = 16, seed: int = 0,
                         fps: int = 24, config: IngestConfig | None = None) -> ClipOutput:
    """A complete clip (face frames, scene frames, preview, clip.json) of a
    drawn face, published like a real one; an existing clip is returned as is."""
    media_root = Path(media_root)
    check_name(scene, "scene")
    check_name(clip_key, "clip key")
    config = config or IngestConfig()
    existing = load_finished(media_root, scene, clip_key)
    if existing is not None:
        return existing
    rendered = list(render_frames(frames=frames, size=(320, 240), faces=1, face_px=80, cuts=[], seed=seed))
    boxes = np.array([b[0] for _, b in rendered], float)
    plan = ClipPlan(
        track_index=0, segment_index=0, start_frame=0, boxes=boxes,
        median_face_px=float(np.median(boxes[:, 2])), confidence=1.0,
        stability=float(np.mean([iou(tuple(a), tuple(b)) for a, b in zip(boxes, boxes[1:])])) if frames > 1 else 1.0,
        hit_rate=1.0,
    )
    tmp_root = media_root / "tmp" / uuid.uuid4().hex
    tmp_root.mkdir(parents=True)
    writer = None
    try:
        writer = ClipWriter(
            media_root=media_root, tmp_root=tmp_root, scene=scene, video_key="synthetic", key=clip_key, plan=plan,
            start_s=0.0, end_s=frames / fps, rate=Fraction(fps), config=config, preview_fmt=preview_format(),
        )
        for i, (img, _) in enumerate(rendered):
            writer.add(i, img)
        return writer.finish()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
