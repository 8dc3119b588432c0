"""Admin pages: upload videos, watch their ingest, browse their clips."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse

from app.clips import service as clips
from app.core.deps import AdminPage, AdminPageWriter, SessionDep
from app.core.errors import DomainError
from app.core.flash import drop_flash, read_flash, set_flash
from app.core.templating import is_htmx, render, render_live
from app.core.types import Id
from app.taxonomy import service as taxonomy
from app.videos import service, storage
from app.videos.models import VideoStatus
from app.videos.upload import PageUpload, upload_doc

router = APIRouter(include_in_schema=False)


PAGE = "/admin/videos"


def _page(request: Request, session, *, flash: dict | None = None, block: str | None = None):
    videos = service.list_videos(session)
    busy = any(v.status in (VideoStatus.queued, VideoStatus.processing) for v in videos)
    tree = taxonomy.tree(session)
    scenes = {s["id"]: s["name"] for sc in tree["scenarios"] for s in sc["scenes"]}
    flash = flash or {}
    return render(request, "videos/index.html", {
        "videos": videos, "busy": busy, "scenes": scenes, "tree": tree, "scene_id": flash.get("scene_id"),
        "detectors": service.detector_choices(), "detector": flash.get("detector", ""),
        "messages": flash.get("messages", []), "errors": flash.get("errors", [])}, block=block)


@router.get("/admin/videos")
def videos_page(request: Request, session: SessionDep, _: AdminPage):
    if is_htmx(request):  # the polling table leaves the flash to the page
        return _page(request, session, block="table")
    resp = _page(request, session, flash=read_flash(request))
    drop_flash(resp, path=PAGE)
    return resp


# CSRF is checked by PageUpload, after authentication and before the body
# is used (app/videos/upload.py).
@router.post("/admin/videos", openapi_extra=upload_doc("files", many=True))
def upload(request: Request, session: SessionDep, upload: PageUpload):
    messages, errors = [], []
    user, scene_id, detector = upload.user, upload.scene_id, upload.detector
    for f in upload.files:
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
    # Post/redirect/get: a reload of the page re-sends no file; the outcome
    # and the chosen scene ride along in a one-shot cookie.
    resp = RedirectResponse(PAGE, status_code=303)
    set_flash(resp, path=PAGE, messages=messages, errors=errors, scene_id=scene_id, detector=detector)
    return resp


def _detail(request: Request, session, video_id: int, *, errors: list[str] | None = None, status_code: int = 200):
    video = service.get_video(session, video_id)
    rows, total = clips.list_clips(session, video_id=video_id, limit=500)
    busy = video.status in (VideoStatus.queued, VideoStatus.processing)
    ctx = {"video": video, "clips": rows, "total": total, "busy": busy, "errors": errors or []}
    if errors:  # a refused retry: the page with its message, not a poll
        return render(request, "videos/detail.html", ctx, status_code=status_code)
    return render_live(request, "videos/detail.html", ctx, block="status", busy=busy)


@router.get("/admin/videos/{video_id}")
def video_detail(request: Request, video_id: Id, session: SessionDep, _: AdminPage):
    return _detail(request, session, video_id)


@router.post("/admin/videos/{video_id}/retry")
def retry_ingest(request: Request, video_id: Id, session: SessionDep, _: AdminPageWriter):
    try:
        service.retry_ingest(session, video_id=video_id)
    except DomainError as exc:
        session.rollback()
        return _detail(request, session, video_id, errors=[exc.detail], status_code=exc.status_code)
    return RedirectResponse(f"/admin/videos/{video_id}", status_code=303)


@router.post("/admin/videos/{video_id}/ingest")
def reingest(video_id: Id, session: SessionDep, _: AdminPageWriter):
    video = service.requeue(session, video_id=video_id)
    service.enqueue_ingest(video)
    return RedirectResponse("/admin/videos", status_code=303)
