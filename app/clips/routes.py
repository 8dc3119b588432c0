"""Clips: marking gold answers (JSON API) and serving clip media."""
from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel

from app.clips import media
from app.core.deps import AdminWriter, CurrentUser, SessionDep
from app.core.types import Count, Id, Name
from app.labeling import service as labelling
from app.labeling.deps import SqliteTurn

router = APIRouter(tags=["clips"])


class GoldIn(BaseModel):
    expression: Name(40)


class GoldOut(BaseModel):
    clip_id: int
    expression: str


@router.post("/api/v1/clips/{clip_id}/gold", response_model=GoldOut, status_code=201, dependencies=[SqliteTurn],
             responses={200: {"description": "The clip was gold already: its answer is replaced."}})
def mark_gold(clip_id: Id, body: GoldIn, response: Response, session: SessionDep, user: AdminWriter) -> GoldOut:
    answer, created = labelling.mark_gold(session, clip_id=clip_id, expression=body.expression, by=user)
    response.status_code = 201 if created else 200
    return GoldOut(clip_id=answer.clip_id, expression=answer.expression)


@router.delete("/api/v1/clips/{clip_id}/gold", status_code=204, dependencies=[SqliteTurn])
def unmark_gold(clip_id: Id, session: SessionDep, _: AdminWriter) -> Response:
    labelling.unmark_gold(session, clip_id=clip_id)
    return Response(status_code=204)


# Private: the lease decides who may fetch, so shared caches must not keep it;
# the annotator's own browser may (the page preloads the next clip).
_CACHE = {"Cache-Control": "private, max-age=600"}


@router.get("/media/clips/{clip_id}/preview.mp4", include_in_schema=False)
def preview(clip_id: Id, session: SessionDep, user: CurrentUser) -> FileResponse:
    # FileResponse answers Range requests (206, Content-Range, Accept-Ranges).
    # The database is let go before the file streams (media.py).
    return FileResponse(media.preview_file(session, clip_id=clip_id, user=user), media_type="video/mp4",
                        headers=_CACHE)


@router.get("/media/clips/{clip_id}/faces/{index}.jpg", include_in_schema=False)
def face(clip_id: Id, index: Count, session: SessionDep, user: CurrentUser) -> FileResponse:
    return FileResponse(media.face_file(session, clip_id=clip_id, index=index, user=user), media_type="image/jpeg",
                        headers=_CACHE)
