"""The labelling JSON API: campaigns, the next clip, annotations, own stats.

Browsers call it with their session cookie: writes then need the page's
X-CSRF-Token header. Bearer-token clients need none."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.core.deps import AdminUser, AdminWriter, CurrentUser, SessionDep, Writer
from app.core.types import Id, IdList
from app.labeling import dealer, service, votes
from app.labeling.deps import SqliteTurn
from app.labeling.models import AnnotationCreate, CampaignCreate, CampaignUpdate
from app.labeling.schemas import AnnotationOut, AnnotatorRow, CampaignOut, DealOut, MemberStats

# On SQLite each request waits for its turn before its first query (deps.py).
router = APIRouter(prefix="/api/v1", tags=["labelling"], dependencies=[SqliteTurn])


def _deal_out(deal: dealer.Deal) -> DealOut:
    a = deal.assignment
    return DealOut(assignment_id=a.id, clip_id=a.clip_id, media_url=deal.media_url, expires_at=a.expires_at,
                   ranking=deal.ranking)


def _json(model, status_code: int = 200) -> Response:
    """The hot path's answers, serialised once: returning a Response skips
    FastAPI's second validation of a model we just built."""
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post("/campaigns", response_model=CampaignOut, status_code=201)
def create_campaign(body: CampaignCreate, session: SessionDep, _: AdminWriter) -> CampaignOut:
    return service.campaign_out(session, service.create_campaign(session, data=body))


@router.get("/campaigns", response_model=list[CampaignOut])
def list_campaigns(session: SessionDep, user: CurrentUser) -> list[CampaignOut]:
    return [service.campaign_out(session, c, with_progress=False)
            for c in service.list_campaigns(session, user=user)]


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut)
def get_campaign(campaign_id: Id, session: SessionDep, user: CurrentUser) -> CampaignOut:
    return service.campaign_out(session, service.campaign_for(session, campaign_id=campaign_id, user=user))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut)
def update_campaign(campaign_id: Id, body: CampaignUpdate, session: SessionDep, _: AdminWriter) -> CampaignOut:
    return service.campaign_out(session, service.update_campaign(session, campaign_id=campaign_id, data=body))


@router.get("/campaigns/{campaign_id}/next", response_model=DealOut,
            responses={204: {"description": "Nothing is left for you in this campaign."}})
def next_clip(campaign_id: Id, session: SessionDep, user: CurrentUser,
              exclude: Annotated[IdList(100), Query(description="Leases the page already holds.")] = []):  # noqa: B006
    deal = dealer.next_assignment(session, campaign_id=campaign_id, user=user, exclude=exclude)
    if deal is None:
        return Response(status_code=204)
    return _json(_deal_out(deal))


@router.get("/campaigns/{campaign_id}/annotators", response_model=list[AnnotatorRow])
def annotators(campaign_id: Id, session: SessionDep, _: AdminUser) -> list[AnnotatorRow]:
    return service.annotator_table(session, campaign_id=campaign_id)


@router.post("/campaigns/{campaign_id}/annotators/{user_id}/reinstate", response_model=MemberStats)
def reinstate(campaign_id: Id, user_id: Id, session: SessionDep, _: AdminWriter) -> MemberStats:
    service.reinstate(session, campaign_id=campaign_id, user_id=user_id)
    return next(r for r in service.annotator_table(session, campaign_id=campaign_id) if r.user_id == user_id)


@router.post("/annotations", response_model=AnnotationOut, status_code=201,
             responses={200: {"description": "A retry: the annotation recorded the first time."}})
def create_annotation(body: AnnotationCreate, session: SessionDep, user: Writer) -> AnnotationOut:
    ann, created, member = votes.submit(session, user=user, data=body)
    return _json(AnnotationOut(**votes.annotation_public(ann), labels_done=member.labels), 201 if created else 200)


def _undo(annotation_id: int, session, user) -> DealOut:
    deal, _ = votes.undo(session, user=user, annotation_id=annotation_id)
    return _deal_out(deal)


@router.delete("/annotations/{annotation_id}", response_model=DealOut)
def delete_annotation(annotation_id: Id, session: SessionDep, user: Writer) -> DealOut:
    """Undo: the vote is retracted and its lease is live again."""
    return _undo(annotation_id, session, user)


@router.post("/annotations/{annotation_id}/undo", response_model=DealOut)
def undo_annotation(annotation_id: Id, session: SessionDep, user: Writer) -> DealOut:
    return _undo(annotation_id, session, user)


@router.get("/me/stats", response_model=list[MemberStats])
def my_stats(session: SessionDep, user: CurrentUser, campaign_id: Id | None = None) -> list[MemberStats]:
    return service.member_stats(session, user=user, campaign_id=campaign_id)
