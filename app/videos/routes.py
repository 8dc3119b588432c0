from fastapi import APIRouter, File, Form, Request, UploadFile

from app.clips import service as clips
from app.clips.models import ClipPublic
from app.core.config import get_settings
from app.core.deps import AdminUser, CurrentUser, SessionDep
from app.core.errors import TooLarge
from app.videos import service, storage
from app.videos.models import VideoPublic

router = APIRouter(prefix="/api/v1", tags=["videos"])


def check_length(request: Request) -> None:
    """Refuse an over-size upload from its Content-Length, before reading it."""
    s = get_settings()
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > s.max_upload_bytes + 64 * 1024:
        raise TooLarge(f"The upload is larger than the {s.max_upload_mb} MB limit (FERVLAB_MAX_UPLOAD_MB).")


@router.post("/videos", status_code=202, response_model=VideoPublic)
def upload_video(request: Request, session: SessionDep, user: AdminUser, file: UploadFile = File(...),
                 scene_id: int = Form(...), detector: str = Form("")) -> VideoPublic:
    check_length(request)
    staged = storage.stage_upload(file.file, file.filename or "video")
    video, created = service.register(session, scene_id=scene_id, staged=staged, user_id=user.id,
                                      detector=detector)
    if created:
        service.enqueue_ingest(video)
    return service.to_public(video)


@router.get("/videos", response_model=list[VideoPublic])
def list_videos(session: SessionDep, _: AdminUser, scene_id: int | None = None) -> list[VideoPublic]:
    return [service.to_public(v) for v in service.list_videos(session, scene_id=scene_id)]


@router.get("/videos/{video_id}", response_model=VideoPublic)
def get_video(video_id: int, session: SessionDep, _: AdminUser) -> VideoPublic:
    return service.to_public(service.get_video(session, video_id))


@router.post("/videos/{video_id}/ingest", status_code=202, response_model=VideoPublic)
def reingest(video_id: int, session: SessionDep, _: AdminUser) -> VideoPublic:
    video = service.requeue(session, video_id=video_id)
    service.enqueue_ingest(video)
    return service.to_public(video)


@router.get("/clips")
def list_clips(session: SessionDep, _: CurrentUser, video_id: int | None = None, scene_id: int | None = None,
               limit: int = 100, offset: int = 0) -> dict:
    rows, total = clips.list_clips(session, video_id=video_id, scene_id=scene_id, limit=max(1, limit),
                                   offset=max(0, offset))
    return {"total": total, "items": [clips.to_public(c) for c in rows]}


@router.get("/clips/{clip_id}", response_model=ClipPublic)
def get_clip(clip_id: int, session: SessionDep, _: AdminUser) -> ClipPublic:
    return clips.to_public(clips.get_clip(session, clip_id))
