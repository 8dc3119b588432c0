"""Registering raw videos and following their ingest."""
from __future__ import annotations

from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.taxonomy.service import get_scene
from app.videos import storage
from app.videos.models import Video, VideoPublic, VideoStatus


def probe_error(path) -> str | None:
    """A clear message if `path` is not a video this build can decode."""
    from workers.ingest.errors import IngestError
    from workers.ingest.probe import probe_video

    try:
        probe_video(path)
    except IngestError as exc:
        return str(exc.detail)
    return None


def detector_choices() -> list[str]:
    """Face detectors a video can ask for, best first (the packages installed
    here; nothing heavy is imported, the web process stays free of torch)."""
    from workers.ingest.faces import installed_detectors

    return installed_detectors()


def check_detector(name: str | None) -> str | None:
    """A chosen detector name, or None for "the best available"."""
    name = (name or "").strip()
    if not name:
        return None
    choices = detector_choices()
    if name not in choices:
        raise Invalid(f"Unknown face detector {name!r}; available: {', '.join(choices)}.")
    return name


def register(session: Session, *, scene_id: int, staged: storage.StagedFile, user_id: int | None = None,
             check: bool = True, detector: str | None = None) -> tuple[Video, bool]:
    """Keep the upload as a queued Video; returns (video, created). The same
    file registered twice to the same scene is the same video. `detector`:
    the face detector to ingest it with (None: the best available)."""
    try:
        get_scene(session, scene_id)
        if check and (err := probe_error(staged.tmp_path)):
            raise Invalid(f"{staged.filename}: {err}")
        existing = session.exec(
            select(Video).where(Video.sha256 == staged.sha256, Video.scene_id == scene_id)).first()
        if existing is not None:
            storage.discard(staged)
            return existing, False
        video = Video(scene_id=scene_id, filename=staged.filename, path="", size_bytes=staged.size,
                      sha256=staged.sha256, created_by_id=user_id, detector=check_detector(detector))
        session.add(video)
        session.flush()
        video.path = storage.publish(staged, video.id)
        session.add(video)
        session.commit()
    except BaseException:
        session.rollback()
        storage.discard(staged)
        raise
    return video, True


def enqueue_ingest(video: Video) -> None:
    """Send the ingest task; call only after the commit that created the video.
    If the broker cannot take it the video is marked failed (never left queued
    with no message) and Unavailable (503) is raised."""
    from sqlalchemy.orm import object_session

    from app.core.db import session_scope
    from app.jobs import service as jobs

    def record(session: Session, **values) -> None:
        row = session.get(Video, video.id)
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_at = utcnow()
        session.add(row)
        session.commit()

    def in_session(**values) -> None:
        session = object_session(video)
        if session is not None:
            record(session, **values)
        else:
            with session_scope() as s:
                record(s, **values)

    in_session(attempts=video.attempts + 1, heartbeat_at=utcnow())  # a queued row's heartbeat is its last send
    try:
        jobs.publish("fervlab.ingest_video", [video.id], queue="cpu")
    except Exception as exc:  # noqa: BLE001
        err = jobs.broker_down(f"the ingest of video {video.id} (the file is stored)", exc,
                               f"/api/v1/videos/{video.id}/retry")
        in_session(status=VideoStatus.failed, error=err.detail[:1000], stage="failed", run_token=None)
        raise err from exc


def get_video(session: Session, video_id: int) -> Video:
    video = session.get(Video, video_id)
    if video is None:
        raise NotFound(f"Video {video_id} does not exist.")
    return video


def list_videos(session: Session, *, scene_id: int | None = None, limit: int = 200) -> list[Video]:
    q = select(Video).order_by(Video.id.desc()).limit(limit)
    if scene_id is not None:
        q = q.where(Video.scene_id == scene_id)
    return list(session.exec(q).all())


def requeue(session: Session, *, video_id: int, attempts: int | None = None, detector: str | None = None) -> Video:
    """Mark a video for (re-)ingest; refused while a live worker ingests it.
    `detector` (when given) replaces its chosen one."""
    from app.jobs.liveness import INGESTS, is_stuck

    video = get_video(session, video_id)
    if video.status == VideoStatus.processing and not is_stuck(INGESTS, video):
        raise Conflict(f"Video {video_id} is being ingested right now; wait for it to finish or fail.")
    if detector:
        video.detector = check_detector(detector)
    video.status, video.error, video.progress, video.stage = VideoStatus.queued, None, 0.0, "queued"
    video.run_token = None
    if attempts is not None:
        video.attempts = attempts
    video.updated_at = utcnow()
    session.add(video)
    session.commit()
    return video


def retry_ingest(session: Session, *, video_id: int) -> Video:
    """Ingest a failed or stuck video again, after removing what a killed run
    left in the temporary clip folders."""
    from app.jobs.liveness import INGESTS, check_retryable
    from workers.ingest.job import remove_leftovers

    video = get_video(session, video_id)
    check_retryable(INGESTS, video, when_done=f"Video {video_id} was ingested; "
                    f"use POST /api/v1/videos/{video_id}/ingest to redo it.")
    video = requeue(session, video_id=video_id, attempts=0)
    remove_leftovers(video_id)
    enqueue_ingest(video)
    return video


def set_progress(session: Session, video: Video, *, progress: float, stage: str) -> None:
    video.progress, video.stage, video.updated_at = round(progress, 4), stage[:80], utcnow()
    if video.status == VideoStatus.queued:
        video.status = VideoStatus.processing
    session.add(video)
    session.commit()


def to_public(video: Video) -> VideoPublic:
    return VideoPublic(video_id=video.id, scene_id=video.scene_id, filename=video.filename, status=video.status,
                       clips=video.clips_count, error=video.error, progress=video.progress, stage=video.stage,
                       duration_s=video.duration_s, detector=video.detector, created_at=video.created_at)


def original_path(video: Video):
    return get_settings().media_root / video.path
