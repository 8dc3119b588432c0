"""JSON API of releases and the dataset figures."""
from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from app.core.deps import AdminWriter, CurrentUser, ReviewerUser, SessionDep
from app.core.types import Count, Int, Text
from app.datasets import exports, live, service

router = APIRouter(prefix="/api/v1", tags=["datasets"])


@router.get("/datasets/live")
def live_figures(session: SessionDep, _: CurrentUser) -> dict:
    """The live trusted dataset: counts per scene × expression, class shares,
    agreement per scene, posterior histogram, trusted clips over time."""
    return live.live_stats(session)


@router.get("/releases")
def list_releases(session: SessionDep, _: CurrentUser) -> list[dict]:
    return [service.release_public(r) for r in service.list_releases(session)]


@router.post("/releases", status_code=201)
def create_release(body: service.ReleaseIn, session: SessionDep, user: AdminWriter) -> dict:
    r = service.create_release(session, data=body, user_id=user.id)
    return {**service.release_public(r), "stats": r.stats}


@router.get("/releases/{name}")
def show_release(name: Text(80), session: SessionDep, _: CurrentUser) -> dict:
    r = service.get_release(session, name)
    return {**service.release_public(r), "stats": r.stats}


@router.get("/releases/{name}/clips")
def release_clips(name: Text(80), session: SessionDep, _: CurrentUser, limit: Int(1, 1000) = 100,
                  offset: Count = 0) -> dict:
    r = service.get_release(session, name)
    rows, total = service.release_page(session, r.id, limit=limit, offset=offset)
    return {"total": total, "items": rows}


@router.get("/releases/{a}/diff/{b}")
def diff(a: Text(80), b: Text(80), session: SessionDep, _: CurrentUser) -> dict:
    return service.diff(session, a=a, b=b)


@router.delete("/releases/{name}", status_code=204)
def delete_release(name: Text(80), session: SessionDep, _: AdminWriter) -> Response:
    service.delete_release(session, name=name)
    return Response(status_code=204)


@router.get("/releases/{name}/download")
async def download(name: Text(80), session: SessionDep, _: ReviewerUser,
                   format: Text(60) = "all") -> StreamingResponse:
    """The release as a .tar streamed from an export on disk (never held in memory)."""
    formats = exports.parse_formats(format)
    holder, root, filename = await run_in_threadpool(exports.export_for_download, session, name=name,
                                                     formats=formats)
    body, size = exports.tar_stream(holder, root)
    return StreamingResponse(body, media_type="application/x-tar", headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Content-Length": str(size)})
