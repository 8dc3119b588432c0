"""The expert review JSON API."""
from __future__ import annotations

from fastapi import APIRouter

from app.core.deps import ReviewerUser, ReviewerWriter, SessionDep
from app.core.types import Count, Id, Int
from app.review import service

router = APIRouter(prefix="/api/v1", tags=["review"])


@router.get("/review/queue")
def review_queue(session: SessionDep, _: ReviewerUser, limit: Int(1, 200) = 20,
                 offset: Count = 0, flagged: bool = True) -> dict:
    return {"total": service.queue_size(session, include_flagged=flagged),
            "items": service.queue(session, limit=limit, offset=offset, include_flagged=flagged)}


@router.post("/clips/{clip_id}/review", status_code=201)
def review_clip(clip_id: Id, body: service.ReviewIn, session: SessionDep, user: ReviewerWriter) -> dict:
    return service.review_public(service.decide(session, clip_id=clip_id, reviewer=user, data=body))


@router.get("/clips/{clip_id}/reviews")
def clip_reviews(clip_id: Id, session: SessionDep, _: ReviewerUser) -> list[dict]:
    return [service.review_public(r) for r in service.reviews_of(session, clip_id=clip_id)]
