"""The dataset pages: /datasets (live figures, releases, the create button)
and /datasets/releases/{name} (a release: figures, downloads, diff)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from app.benchmarks.service import column_order
from app.core.deps import AdminPageWriter, PageUser, SessionDep
from app.core.errors import DomainError, NotFound, form_message
from app.core.templating import is_htmx, render
from app.core.types import Text
from app.datasets import exports, live, service

router = APIRouter(include_in_schema=False)


def _index(request: Request, session, *, error: str | None = None, form: dict | None = None, status: int = 200):
    ctx = {"live": live.live_stats(session), "releases": [service.release_public(r)
                                                          for r in reversed(service.list_releases(session))],
           "scene_names": [s for _, ss in column_order(session) for s in ss], "error": error, "form": form or {}}
    return render(request, "datasets/index.html", ctx, status_code=status)


@router.get("/datasets")
def index(request: Request, session: SessionDep, _: PageUser):
    return _index(request, session)


@router.post("/datasets/releases")
def create(request: Request, session: SessionDep, user: AdminPageWriter, name: Annotated[Text(200), Form()] = "",
           min_posterior: Annotated[Text(20), Form()] = "",
           scenes: Annotated[list[Text(80)], Form(max_length=500)] = [],  # noqa: B006 - FastAPI copies defaults
           test_share: Annotated[Text(20), Form()] = "0.2", licence: Annotated[Text(4000), Form()] = "",
           description: Annotated[Text(4000), Form()] = ""):
    form = {"name": name, "min_posterior": min_posterior, "scenes": scenes, "test_share": test_share,
            "licence": licence, "description": description}
    try:
        data = service.ReleaseIn(name=name.strip(), min_posterior=min_posterior.strip() or None,
                                 scenes=scenes or None, test_share=test_share.strip() or 0.2, licence=licence,
                                 description=description)
        r = service.create_release(session, data=data, user_id=user.id)
    except (DomainError, ValidationError) as exc:
        session.rollback()
        return _index(request, session, error=form_message(exc), form=form, status=422)
    return RedirectResponse(f"/datasets/releases/{r.name}", status_code=303)


@router.get("/datasets/releases/{name}")
def release_page(request: Request, name: Text(80), session: SessionDep, _: PageUser, compare: Text(80) | None = None):
    try:
        r = service.get_release(session, name)
    except NotFound as exc:
        return render(request, "datasets/missing.html", {"message": exc.detail}, status_code=404)
    other_diff, error = None, None
    if compare:
        try:
            other_diff = service.diff(session, a=compare, b=r.name)
        except DomainError as exc:
            error = exc.detail
    ctx = {"r": r, "pub": service.release_public(r), "s": r.stats, "diff": r.stats.get("diff_to_parent"),
           "other_diff": other_diff, "compare": compare, "error": error, "formats": exports.CHOICES,
           "releases": [x.name for x in service.list_releases(session) if x.name != r.name]}
    return render(request, "datasets/release.html", ctx)


@router.post("/datasets/releases/{name}/delete")
def delete(request: Request, name: Text(80), session: SessionDep, _: AdminPageWriter):
    try:
        service.delete_release(session, name=name)
    except NotFound as exc:
        return render(request, "datasets/missing.html", {"message": exc.detail}, status_code=404)
    if is_htmx(request):  # the button asked through htmx (its confirm dialog): a full page load follows
        return Response(status_code=204, headers={"HX-Redirect": "/datasets"})
    return RedirectResponse("/datasets", status_code=303)
