"""Annotator pages: the list of campaigns and the labelling page."""
from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.deps import PageUser, SessionDep
from app.core.templating import render
from app.core.types import Id
from app.labeling import service
from app.labeling.deps import SqliteTurn
from app.labeling.taxonomy_cache import expressions

# The stats fragment is fetched after every label: it queues with the API.
router = APIRouter(include_in_schema=False, dependencies=[SqliteTurn])


@router.get("/annotate")
def annotator_home(request: Request, session: SessionDep, user: PageUser):
    campaigns = service.campaigns_for(session, user=user)
    stats = {s.campaign_id: s for s in service.member_stats(session, user=user)}
    rows = [{"campaign": c, "progress": service.progress(session, campaign_id=c.id), "stats": stats.get(c.id)}
            for c in campaigns]
    return render(request, "annotate/home.html", {"campaigns": campaigns, "rows": rows})


def _label_ctx(session, campaign_id: int, user) -> dict:
    campaign = service.campaign_for(session, campaign_id=campaign_id, user=user)
    stats = service.member_stats(session, user=user, campaign_id=campaign_id)[0]
    return {"campaign": campaign, "stats": stats, "expressions": expressions(session)}


@router.get("/annotate/{campaign_id}")
def label_page(campaign_id: Id, request: Request, session: SessionDep, user: PageUser):
    return render(request, "annotate/label.html", _label_ctx(session, campaign_id, user))


@router.get("/annotate/{campaign_id}/stats")
def label_stats(campaign_id: Id, request: Request, session: SessionDep, user: PageUser):
    """The page's own-statistics panel (htmx refreshes it after each label)."""
    return render(request, "annotate/label.html", _label_ctx(session, campaign_id, user), block="stats")
