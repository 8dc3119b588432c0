"""Registering raw videos and following their ingest."""
from __future__ import annotations

from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound, Unavailable
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
    """Send the ingest task; call only after the commit that created the video."""
    from workers.celery_app import celery_app

    try:
        celery_app.send_task("fervlab.ingest_video", args=[video.id], queue="cpu")
    except Exception as exc:  # noqa: BLE001
        raise Unavailable(f"Video {video.id} is stored but the task broker is unreachable "
                          f"({type(exc).__name__}); retry with POST /api/v1/videos/{video.id}/ingest.") from exc


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


def requeue(session: Session, *, video_id: int, detector: str | None = None) -> Video:
    """Queue the video again; `detector` (when given) replaces its chosen one."""
    video = get_video(session, video_id)
    if detector:
        video.detector = check_detector(detector)
    video.status, video.error, video.progress, video.stage = VideoStatus.queued, None, 0.0, "queued"
    video.updated_at = utcnow()
    session.add(video)
    session.commit()
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
