"""Admin pages: upload videos, watch their ingest, browse their clips."""
from __future__ import annotations

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse

from app.clips import service as clips
from app.core.deps import AdminPage, CsrfChecked, SessionDep
from app.core.errors import DomainError
from app.core.templating import is_htmx, render
from app.taxonomy import service as taxonomy
from app.videos import service, storage
from app.videos.models import VideoStatus

router = APIRouter(include_in_schema=False)


def _page(request: Request, session, *, messages: list[str] | None = None, errors: list[str] | None = None,
          block: str | None = None, status_code: int = 200):
    videos = service.list_videos(session)
    busy = any(v.status in (VideoStatus.queued, VideoStatus.processing) for v in videos)
    scenes = {s["id"]: s["name"] for sc in taxonomy.tree(session)["scenarios"] for s in sc["scenes"]}
    return render(request, "videos/index.html", {
        "videos": videos, "busy": busy, "scenes": scenes, "tree": taxonomy.tree(session),
        "detectors": service.detector_choices(),
        "messages": messages or [], "errors": errors or []}, block=block, status_code=status_code)


@router.get("/admin/videos")
def videos_page(request: Request, session: SessionDep, _: AdminPage):
    return _page(request, session, block="table" if is_htmx(request) else None)


@router.post("/admin/videos", dependencies=[CsrfChecked])
def upload(request: Request, session: SessionDep, user: AdminPage, scene_id: int = Form(...),
           files: list[UploadFile] = File(...), detector: str = Form("")):
    messages, errors = [], []
    for f in files:
        if not f.filename:
            continue
        try:
            staged = storage.stage_upload(f.file, f.filename)
            video, created = service.register(session, scene_id=scene_id, staged=staged, user_id=user.id,
                                              detector=detector)
            if created:
                service.enqueue_ingest(video)
                messages.append(f"{f.filename}: queued as video {video.id}.")
            else:
                messages.append(f"{f.filename}: already registered as video {video.id}.")
        except DomainError as exc:
            errors.append(exc.detail)
    if not messages and not errors:
        errors.append("Choose at least one video file.")
    return _page(request, session, messages=messages, errors=errors, status_code=200 if not errors else 422)


@router.get("/admin/videos/{video_id}")
def video_detail(request: Request, video_id: int, session: SessionDep, _: AdminPage):
    video = service.get_video(session, video_id)
    rows, total = clips.list_clips(session, video_id=video_id, limit=500)
    return render(request, "videos/detail.html", {"video": video, "clips": rows, "total": total})


@router.post("/admin/videos/{video_id}/ingest", dependencies=[CsrfChecked])
def reingest(video_id: int, session: SessionDep, _: AdminPage):
    video = service.requeue(session, video_id=video_id)
    service.enqueue_ingest(video)
    return RedirectResponse("/admin/videos", status_code=303)
