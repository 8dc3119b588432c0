"""Admin pages for campaigns: create, tune, watch progress, reinstate
annotators, mark gold. Forms post here; htmx swaps fragments. (Accounts:
app/users/admin_views.py.)"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from app.core.deps import AdminPage, AdminPageWriter, SessionDep
from app.core.errors import DomainError, form_message
from app.core.templating import is_htmx, render
from app.core.types import Count, Id, MAX_INT, Text
from app.labeling import assistance, service
from app.labeling.models import CampaignCreate, CampaignUpdate
from app.labeling.taxonomy_cache import expressions
from app.taxonomy import service as taxonomy

router = APIRouter(include_in_schema=False)


# -- campaigns -------------------------------------------------------------------

def _campaigns_page(request: Request, session, *, error: str | None = None, form: dict | None = None,
                    status_code: int = 200):
    rows = [{"campaign": c, "progress": service.progress(session, campaign_id=c.id)}
            for c in service.list_campaigns(session, user=request.state.user)]
    return render(request, "admin/campaigns.html", {
        "rows": rows, "tree": taxonomy.tree(session), "defaults": CampaignCreate(name="x"), "error": error,
        "form": form or {},
    }, status_code=status_code)


@router.get("/admin/campaigns")
def campaigns_page(request: Request, session: SessionDep, _: AdminPage):
    return _campaigns_page(request, session)


@router.post("/admin/campaigns")
async def create_campaign(request: Request, session: SessionDep, _: AdminPageWriter):
    form = await request.form()
    fields = {k: v for k, v in form.items() if k not in ("csrf_token", "scene_ids", "assisted") and v != ""}
    fields["assisted"] = form.get("assisted") == "on"
    fields["scene_ids"] = [int(s) for s in form.getlist("scene_ids") if str(s).isdigit()]
    # The form is read here (async); the database work runs in the thread pool.
    return await run_in_threadpool(_create_campaign, request, session, fields, dict(form))


def _create_campaign(request: Request, session, fields: dict, form: dict):
    try:
        campaign = service.create_campaign(session, data=CampaignCreate(**fields))
    except (ValidationError, DomainError) as exc:
        session.rollback()
        return _campaigns_page(request, session, error=form_message(exc), form=form, status_code=422)
    return RedirectResponse(f"/admin/campaigns/{campaign.id}", status_code=303)


def _campaign_ctx(session, campaign_id: int, **extra) -> dict:
    campaign = service.get_campaign(session, campaign_id)
    names = {s["id"]: s["name"] for sc in taxonomy.tree(session)["scenarios"] for s in sc["scenes"]}
    progress = service.progress(session, campaign_id=campaign_id)
    return {"campaign": campaign, "progress": progress, "st": {s.state: s.clips for s in progress.states},
            "annotators": service.annotator_table(session, campaign_id=campaign_id),
            "scene_names": [names.get(i, f"#{i}") for i in campaign.scene_ids],
            "expressions": expressions(session), "error": None, "notice": None, "assistance": None, **extra}


@router.get("/admin/campaigns/{campaign_id}")
def campaign_page(campaign_id: Id, request: Request, session: SessionDep, _: AdminPage):
    # The assisted-vs-blind table is read once per page, not with every poll.
    return render(request, "admin/campaign.html", _campaign_ctx(
        session, campaign_id, assistance=assistance.agreement(session, campaign_id=campaign_id)))


@router.get("/admin/campaigns/{campaign_id}/progress")
def campaign_progress(campaign_id: Id, request: Request, session: SessionDep, _: AdminPage):
    """The polled fragment: counts and the per-annotator table."""
    return render(request, "admin/campaign.html", _campaign_ctx(session, campaign_id), block="progress")


@router.post("/admin/campaigns/{campaign_id}")
async def update_campaign(campaign_id: Id, request: Request, session: SessionDep, _: AdminPageWriter):
    form = await request.form()
    fields = {k: v for k, v in form.items() if k not in ("csrf_token", "assisted") and v != ""}
    fields["assisted"] = form.get("assisted") == "on"
    return await run_in_threadpool(_update_campaign, campaign_id, request, session, fields)


def _update_campaign(campaign_id: int, request: Request, session, fields: dict):
    try:
        service.update_campaign(session, campaign_id=campaign_id, data=CampaignUpdate(**fields))
    except (ValidationError, DomainError) as exc:
        session.rollback()
        return render(request, "admin/campaign.html", _campaign_ctx(session, campaign_id, error=form_message(exc)),
                      status_code=422)
    return RedirectResponse(f"/admin/campaigns/{campaign_id}", status_code=303)


@router.post("/admin/campaigns/{campaign_id}/annotators/{user_id}/reinstate")
def reinstate(campaign_id: Id, user_id: Id, request: Request, session: SessionDep, _: AdminPageWriter):
    service.reinstate(session, campaign_id=campaign_id, user_id=user_id)
    if is_htmx(request):
        return render(request, "admin/campaign.html", _campaign_ctx(session, campaign_id), block="progress")
    return RedirectResponse(f"/admin/campaigns/{campaign_id}", status_code=303)


@router.post("/admin/campaigns/{campaign_id}/gold")
def mark_gold(campaign_id: Id, request: Request, session: SessionDep, admin: AdminPageWriter,
              clip_id: Annotated[Text(20), Form()] = "", expression: Annotated[Text(40), Form()] = ""):
    try:
        if not clip_id.strip().isdigit() or int(clip_id) > MAX_INT:
            raise DomainError("Give the clip's number.")
        service.mark_gold(session, clip_id=int(clip_id), expression=expression, by=admin)
    except DomainError as exc:
        session.rollback()
        return render(request, "admin/campaign.html", _campaign_ctx(session, campaign_id, error=exc.detail),
                      status_code=422)
    return render(request, "admin/campaign.html", _campaign_ctx(
        session, campaign_id, notice=f"Clip {clip_id} is now a gold clip ({expression})."))


# -- picking gold by watching clips ------------------------------------------------

def _gold_ctx(session, campaign_id: int, offset: int) -> dict:
    rows, total = service.gold_candidates(session, campaign_id=campaign_id, offset=offset)
    return {"campaign": service.get_campaign(session, campaign_id), "rows": rows, "total": total,
            "offset": max(0, offset), "page": service.GOLD_PAGE, "expressions": expressions(session)}


@router.get("/admin/campaigns/{campaign_id}/gold")
def gold_page(campaign_id: Id, request: Request, session: SessionDep, _: AdminPage, offset: Count = 0):
    """The campaign's clips playing side by side; one click gives a clip its
    expert answer."""
    return render(request, "admin/gold.html", _gold_ctx(session, campaign_id, offset))


@router.post("/admin/campaigns/{campaign_id}/gold/{clip_id}")
def gold_pick(campaign_id: Id, clip_id: Id, request: Request, session: SessionDep, admin: AdminPageWriter,
              expression: Annotated[Text(40), Form()] = "", offset: Annotated[Count, Form()] = 0):
    return _gold_change(request, session, campaign_id, clip_id, offset,
                        lambda: service.mark_gold(session, clip_id=clip_id, expression=expression, by=admin))


@router.post("/admin/campaigns/{campaign_id}/gold/{clip_id}/remove")
def gold_remove(campaign_id: Id, clip_id: Id, request: Request, session: SessionDep, _: AdminPageWriter,
                offset: Annotated[Count, Form()] = 0):
    """The clip is an ordinary one again (its votes so far count as crowd votes)."""
    return _gold_change(request, session, campaign_id, clip_id, offset,
                        lambda: service.unmark_gold(session, clip_id=clip_id))


def _gold_change(request: Request, session, campaign_id: int, clip_id: int, offset: int, change):
    error = None
    try:
        service.get_campaign(session, campaign_id)
        change()
    except DomainError as exc:
        session.rollback()
        error = exc.detail
    if not is_htmx(request):
        if error:
            ctx = _gold_ctx(session, campaign_id, offset)
            return render(request, "admin/gold.html", {**ctx, "error": error}, status_code=422)
        return RedirectResponse(f"/admin/campaigns/{campaign_id}/gold?offset={offset}", status_code=303)
    rows, _ = service.gold_candidates(session, campaign_id=campaign_id, clip_id=clip_id)
    return render(request, "admin/_gold_card.html", {
        "campaign": service.get_campaign(session, campaign_id), "r": rows[0] if rows else {"clip_id": clip_id},
        "offset": offset, "expressions": expressions(session), "card_error": error},
        status_code=422 if error else 200)
