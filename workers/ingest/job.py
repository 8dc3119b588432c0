"""Ingest one registered Video: run the pipeline, persist its clips.

Ids in, safe to run twice: clip keys are stable (`v<video id>-…`) so a rerun
reuses the clips on disk and updates the same rows."""
from __future__ import annotations

import logging
import shutil
import time

from sqlmodel import select

from app.clips import service as clips
from app.clips.models import ClipSource
from app.core.config import get_settings
from app.core.db import session_scope, utcnow
from app.jobs.liveness import INGESTS, Heartbeat, claim, new_token
from app.taxonomy.models import Scene
from app.videos import service as videos
from app.videos.models import Video, VideoStatus
from workers.ingest.config import IngestConfig
from workers.ingest.errors import IngestError
from workers.ingest.pipeline import ingest_video

log = logging.getLogger(__name__)


def clip_fields(out) -> dict:
    return {
        "start_s": out.start_s, "end_s": out.end_s, "start_frame": out.start_frame,
        "frame_count": out.frame_count, "fps": out.fps, "face_dir": out.face_dir, "scene_dir": out.scene_dir,
        "preview_path": out.preview, "boxes": [list(b) for b in out.boxes], "face_size": out.median_face_px,
        "sharpness": out.sharpness, "det_confidence": out.confidence, "stability": out.stability,
        "detector": out.detector or None, "detector_version": out.detector_version or None,
    }


def remove_leftovers(video_id: int) -> int:
    """Remove this video's clip folders that a killed run left under
    `MEDIA_ROOT/tmp/<run>/` (they were never published, so nothing reads
    them); returns how many. Call only while no run of the video is alive."""
    tmp_base = get_settings().media_root / "tmp"
    if not tmp_base.is_dir():
        return 0
    removed = 0
    for d in tmp_base.glob(f"*/v{video_id}-*"):
        shutil.rmtree(d, ignore_errors=True)
        removed += 1
        try:
            d.parent.rmdir()  # the run's folder, once empty
        except OSError:
            pass
    return removed


def run_ingest(video_id: int, progress=None) -> dict:
    """Returns `{"video_id", "status", "clips", "error"}`; `"skipped"` when
    another live run holds the video or it is already ingested. Detects with
    the video's chosen detector (`Video.detector`; None: the best available)."""
    token = new_token()
    if not claim(INGESTS, video_id, token):
        with session_scope() as session:
            video = session.get(Video, video_id)
            if video is None:
                return {"video_id": video_id, "status": "failed", "clips": 0,
                        "error": f"video {video_id} does not exist"}
            status = VideoStatus(video.status).value
        return {"video_id": video_id, "status": status, "clips": video.clips_count, "error": video.error,
                "skipped": f"video {video_id} is {status}: not claimed by this run"}
    removed = remove_leftovers(video_id)
    if removed:
        log.info("video %s: removed %d clip folder(s) left by a killed run", video_id, removed)
    with Heartbeat(INGESTS, video_id, token):
        return _run_claimed(video_id, token, progress)


def _run_claimed(video_id: int, token: str, progress) -> dict:
    with session_scope() as session:
        video = session.get(Video, video_id)
        scene = session.get(Scene, video.scene_id)
        src = videos.original_path(video)
        videos.set_progress(session, video, progress=0.0, stage="starting")
        scene_name, scene_id, detector = scene.name, scene.id, video.detector

    last = [0.0]

    def report(frac: float, stage: str) -> None:
        # Throttled: one small UPDATE at most every half second.
        if progress is not None:
            progress(frac, stage)
        now = time.monotonic()
        if now - last[0] >= 0.5 or frac >= 1.0:
            last[0] = now
            with session_scope() as s:
                v = s.get(Video, video_id)
                videos.set_progress(s, v, progress=frac * 0.98, stage=stage)

    try:
        result = ingest_video(src, media_root=get_settings().media_root, scene=scene_name,
                              video_key=f"v{video_id}", progress=report, config=IngestConfig(detector=detector))
    except IngestError as exc:
        return _finish(video_id, token, status=VideoStatus.failed, error=str(exc.detail))
    except Exception as exc:  # noqa: BLE001 - recorded for the user; the worker stays up
        log.exception("ingest of video %s failed", video_id)
        return _finish(video_id, token, status=VideoStatus.failed,
                       error=f"internal error: {type(exc).__name__}: {exc}")

    with session_scope() as session:
        new_ids, keys = [], set()
        for out in result.clips:
            clip, created = clips.upsert_clip(session, key=out.clip_key, scene_id=scene_id, video_id=video_id,
                                              source=ClipSource.ingest, fields=clip_fields(out))
            keys.add(out.clip_key)
            if created:
                new_ids.append(clip.id)
        video = session.get(Video, video_id)
        video.duration_s, video.fps = result.duration_s, result.fps
        video.width, video.height, video.frames = result.width, result.height, result.frames
        session.add(video)
        clips.after_new_clips(session, new_ids)
    return _finish(video_id, token, status=VideoStatus.done, clips_count=len(keys))


def _finish(video_id: int, token: str, *, status: VideoStatus, error: str | None = None,
            clips_count: int = 0) -> dict:
    with session_scope() as session:
        video = session.get(Video, video_id)
        if video.run_token not in (token, None):
            log.warning("video %s: finished by this run after another took it over", video_id)
        video.status, video.error, video.clips_count = status, error, clips_count
        video.run_token = None
        video.progress = 1.0 if status == VideoStatus.done else video.progress
        video.stage = "done" if status == VideoStatus.done else "failed"
        video.updated_at = utcnow()
        session.add(video)
    return {"video_id": video_id, "status": status.value, "clips": clips_count, "error": error}


def pending_video_ids() -> list[int]:
    with session_scope() as session:
        return list(session.exec(select(Video.id).where(Video.status == VideoStatus.queued)).all())
