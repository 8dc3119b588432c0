"""Annotator pages."""
from __future__ import annotations

from fastapi import APIRouter, Request

from app.core.deps import PageUser, SessionDep
from app.core.templating import render
from app.labeling import service

router = APIRouter(include_in_schema=False)


@router.get("/annotate")
def annotator_home(request: Request, session: SessionDep, user: PageUser):
    return render(request, "annotate/home.html", {"campaigns": service.campaigns_for(session, user=user)})
