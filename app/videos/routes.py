from fastapi import APIRouter

from app.clips import service as clips
from app.clips.models import ClipPublic
from app.core.deps import AdminUser, AdminWriter, ReviewerUser, SessionDep
from app.core.types import Count, Id, Int
from app.videos import service, storage
from app.videos.models import VideoPublic
from app.videos.upload import ApiUpload, upload_doc

router = APIRouter(prefix="/api/v1", tags=["videos"])


@router.post("/videos", status_code=202, response_model=VideoPublic,
             openapi_extra=upload_doc("file", many=False))
def upload_video(session: SessionDep, upload: ApiUpload) -> VideoPublic:
    """Multipart: `file` (the video) and `scene_id`. Only an admin's body is
    read, and never more than FERVLAB_MAX_UPLOAD_MB of it."""
    staged = storage.stage_upload(upload.files[0].file, upload.files[0].filename or "video")
    video, created = service.register(session, scene_id=upload.scene_id, staged=staged, user_id=upload.user.id,
                                      detector=upload.detector)
    if created:
        service.enqueue_ingest(video)
    return service.to_public(video)


@router.get("/videos", response_model=list[VideoPublic])
def list_videos(session: SessionDep, _: AdminUser, scene_id: Id | None = None) -> list[VideoPublic]:
    return [service.to_public(v) for v in service.list_videos(session, scene_id=scene_id)]


@router.get("/videos/{video_id}", response_model=VideoPublic)
def get_video(video_id: Id, session: SessionDep, _: AdminUser) -> VideoPublic:
    return service.to_public(service.get_video(session, video_id))


@router.post("/videos/{video_id}/ingest", status_code=202, response_model=VideoPublic)
def reingest(video_id: Id, session: SessionDep, _: AdminWriter) -> VideoPublic:
    video = service.requeue(session, video_id=video_id)
    service.enqueue_ingest(video)
    return service.to_public(video)


# Reviewers and admins: annotators see clips only through their leases.
@router.get("/clips")
def list_clips(session: SessionDep, _: ReviewerUser, video_id: Id | None = None, scene_id: Id | None = None,
               limit: Int(1, 500) = 100, offset: Count = 0) -> dict:
    rows, total = clips.list_clips(session, video_id=video_id, scene_id=scene_id, limit=limit, offset=offset)
    return {"total": total, "items": [clips.to_public(c) for c in rows]}


@router.get("/clips/{clip_id}", response_model=ClipPublic)
def get_clip(clip_id: Id, session: SessionDep, _: AdminUser) -> ClipPublic:
    return clips.to_public(clips.get_clip(session, clip_id))


@router.post("/videos/{video_id}/retry", status_code=202, response_model=VideoPublic)
def retry_ingest(video_id: Id, session: SessionDep, _: AdminWriter) -> VideoPublic:
    """Ingest a failed video, or one whose worker stopped, again (its killed
    run's temporary clip folders are removed): 409 while it is alive or done,
    503 (Retry-After) while the broker is down."""
    return service.to_public(service.retry_ingest(session, video_id=video_id))
