"""The reviewer's queue page: one card per clip, decided with an htmx form."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from app.consensus import service as consensus
from app.core.deps import ReviewerPage, ReviewerPageWriter, SessionDep
from app.core.errors import DomainError, form_message
from app.core.templating import is_htmx, render
from app.core.types import Count, Id, Text
from app.review import service

router = APIRouter(include_in_schema=False)


@router.get("/review")
def review_page(request: Request, session: SessionDep, _: ReviewerPage, offset: Count = 0):
    offset = max(0, offset)
    return render(request, "review/queue.html", {
        "items": service.queue(session, limit=20, offset=offset), "total": service.queue_size(session),
        "offset": offset, "expressions": consensus.expression_names(session)})


@router.post("/review/{clip_id}")
def review_clip(clip_id: Id, request: Request, session: SessionDep, reviewer: ReviewerPageWriter,
                decision: Annotated[Text(20), Form()] = "", expression: Annotated[Text(40), Form()] = "",
                reason: Annotated[Text(1000), Form()] = ""):
    error = None
    if decision == "reject":
        # The card's one form also carries the label drop-down (pre-filled with
        # the consensus label): a rejection ignores it.
        expression = ""
    try:
        data = service.ReviewIn(decision=decision, expression=expression or None, reason=reason)
        review = service.decide(session, clip_id=clip_id, reviewer=reviewer, data=data)
    except (ValidationError, DomainError) as exc:
        session.rollback()
        error, review = form_message(exc), None
    if not is_htmx(request):
        return RedirectResponse("/review", status_code=303)
    if review is not None:
        return render(request, "review/_decided.html", {"r": service.review_public(review)})
    # htmx swaps only 2xx answers: the card comes back with its error at 200.
    items = [i for i in service.queue(session, limit=200) if i["clip_id"] == clip_id]
    if not items:
        return render(request, "review/_decided.html", {"r": None, "error": error, "clip_id": clip_id})
    return render(request, "review/_item.html", {"item": items[0], "error": error,
                                                 "expressions": consensus.expression_names(session)})
