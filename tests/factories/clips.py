"""Clips for tests: Clip rows with a real, tiny H.264 preview (MP4, the
index up front) and face JPEGs under MEDIA_ROOT, laid out as the ingest
writes them (clips/<Scene>/<key>/faces/00001.jpg, …/preview.mp4).

The media of one (size, frames) pair is encoded once per process and copied,
so hundreds of clips cost little."""
from __future__ import annotations

import itertools
import tempfile
import uuid
from datetime import datetime
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import cv2
import numpy as np
from sqlmodel import Session, select

from app.benchmarks.models import Prediction
from app.clips.models import Clip, ClipSource, GoldAnswer
from app.core.config import get_settings
from app.taxonomy.models import Scene

_seq = itertools.count(1)


def h264_encoder() -> str:
    """The H.264 encoder this PyAV build has (its wheels bundle libx264)."""
    for name in ("libx264", "libopenh264", "h264"):
        if name in av.codecs_available:
            try:
                av.codec.Codec(name, "w")
                return name
            except Exception:  # noqa: BLE001 - listed but not usable for writing
                continue
    raise RuntimeError("this PyAV build has no H.264 encoder")


def _frames(size: int, n: int) -> list[np.ndarray]:
    """A face-coloured disc that nods and 'smiles' over the loop (BGR)."""
    out = []
    for t in range(n):
        img = np.full((size, size, 3), (60, 45, 35), np.uint8)
        cx = size // 2 + int(round(size * 0.06 * np.sin(2 * np.pi * t / n)))
        cy = size // 2
        cv2.ellipse(img, (cx, cy), (int(size * 0.3), int(size * 0.38)), 0, 0, 360, (150, 180, 225), -1)
        for ex in (-1, 1):
            cv2.circle(img, (cx + ex * int(size * 0.11), cy - int(size * 0.1)), max(1, size // 28), (40, 40, 40), -1)
        curve = int(size * 0.08 * np.sin(np.pi * t / max(1, n - 1)))
        pts = np.array([[cx - size // 8, cy + size // 6], [cx, cy + size // 6 + curve],
                        [cx + size // 8, cy + size // 6]], np.int32)
        cv2.polylines(img, [pts], False, (40, 40, 90), max(1, size // 40))
        out.append(img)
    return out


@lru_cache(maxsize=8)
def preview_bytes(size: int = 64, frames: int = 12, fps: int = 12) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.mp4"
        with av.open(str(path), mode="w", format="mp4", options={"movflags": "faststart"}) as out:
            stream = out.add_stream(h264_encoder(), rate=Fraction(fps))
            stream.width = stream.height = size
            stream.pix_fmt = "yuv420p"
            for i, img in enumerate(_frames(size, frames)):
                frame = av.VideoFrame.from_ndarray(img, format="bgr24")
                frame.pts = i
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        return path.read_bytes()


@lru_cache(maxsize=8)
def face_jpegs(size: int = 64, frames: int = 12) -> tuple[bytes, ...]:
    return tuple(cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes() for img in _frames(size, frames))


def scene_id(session: Session, name: str = "DailyLife") -> int:
    return session.exec(select(Scene.id).where(Scene.name == name)).one()


def make_clip(session: Session, *, scene: str = "DailyLife", size: int = 64, frames: int = 12, faces: int | None = None,
              gold: str | None = None, commit: bool = True) -> Clip:
    """One clip with its media on disk. `gold` also stores an expert answer;
    `faces` limits how many face JPEGs are written (default: all frames)."""
    root = get_settings().media_root
    key = f"test-{scene}-{next(_seq):05d}-{uuid.uuid4().hex[:6]}"
    rel = f"clips/{scene}/{key}"
    face_dir = root / rel / "faces"
    face_dir.mkdir(parents=True, exist_ok=True)
    for i, data in enumerate(face_jpegs(size, frames)[: faces if faces is not None else frames], 1):
        (face_dir / f"{i:05d}.jpg").write_bytes(data)
    (root / rel / "preview.mp4").write_bytes(preview_bytes(size, frames))
    clip = Clip(key=key, scene_id=scene_id(session, scene), source=ClipSource.demo, start_s=0.0, end_s=frames / 12,
                frame_count=frames, fps=12.0, face_dir=f"{rel}/faces", preview_path=f"{rel}/preview.mp4",
                face_size=float(size), sharpness=100.0, det_confidence=0.99, stability=0.95)
    session.add(clip)
    session.flush()
    if gold is not None:
        session.add(GoldAnswer(clip_id=clip.id, expression=gold))
    if commit:
        session.commit()
    return clip


def make_clips(session: Session, n: int, **kw) -> list[Clip]:
    clips = [make_clip(session, commit=False, **kw) for _ in range(n)]
    session.commit()
    return clips


def add_prediction(session: Session, clip_id: int, probs: dict[str, float], *, model_name: str = "test-model",
                   created_at: datetime | None = None, commit: bool = True) -> Prediction:
    """A model's probabilities for a clip (names as the models write them)."""
    ranking = sorted(probs, key=lambda k: -probs[k])
    kw = {"created_at": created_at} if created_at is not None else {}
    pred = Prediction(clip_id=clip_id, model_name=model_name, probs=dict(probs), ranking=ranking, top=ranking[0],
                      entropy=float(-sum(p * np.log(p) for p in probs.values() if p > 0)), **kw)
    session.add(pred)
    if commit:
        session.commit()
    return pred
