"""Upload bodies, read only after the caller is known to be an admin.

FastAPI reads `File(...)`/`Form(...)` parameters before any dependency runs,
so an anonymous client could make the server spool a whole upload to disk
before its 401. These dependencies authenticate first (and check CSRF for
cookie sessions), then parse the multipart body; its size is bounded while
it streams by app.core.limits (the route is marked with `multipart_body`).
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from pydantic import TypeAdapter, ValidationError
from starlette.datastructures import FormData, UploadFile

from app.core.deps import AdminPage, AdminUser, CsrfChecked
from app.core.errors import Invalid
from app.core.limits import multipart_body
from app.core.types import Id
from app.users.models import User

MAX_FILES = 50
_ID = TypeAdapter(Id)


@dataclass
class VideoUpload:
    user: User
    scene_id: int
    files: list[UploadFile]
    detector: str = ""  # a face detector's name; empty: the best available


def upload_doc(file_field: str, *, many: bool) -> dict:
    binary = {"type": "string", "format": "binary"}
    return multipart_body({"scene_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                           file_field: {"type": "array", "items": binary} if many else binary,
                           "detector": {"type": "string", "maxLength": 40,
                                        "description": "face detector (empty: the best available)"}},
                          ["scene_id", file_field])


async def _read(request: Request, user: User, file_field: str) -> tuple[VideoUpload, FormData]:
    form = await request.form(max_files=MAX_FILES, max_fields=20)
    try:
        try:
            scene_id = _ID.validate_python(form.get("scene_id"))
        except ValidationError as exc:
            raise Invalid("scene_id: " + exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
        detector = form.get("detector") or ""
        if not isinstance(detector, str) or len(detector) > 40:
            raise Invalid("detector: give a face detector's name (at most 40 characters).")
        files = [f for f in form.getlist(file_field) if isinstance(f, UploadFile)]
        if not files:
            raise Invalid(f"{file_field}: attach a video file (multipart field '{file_field}').")
    except BaseException:
        await form.close()
        raise
    return VideoUpload(user=user, scene_id=scene_id, files=files, detector=detector), form


# Parameters resolve in order: authentication, then CSRF (cookie sessions;
# it parses the form), then the body.
async def _api_upload(request: Request, user: AdminUser, _csrf: None = CsrfChecked) -> AsyncIterator[VideoUpload]:
    upload, form = await _read(request, user, "file")
    try:
        yield upload
    finally:
        await form.close()


async def _page_upload(request: Request, user: AdminPage, _csrf: None = CsrfChecked) -> AsyncIterator[VideoUpload]:
    upload, form = await _read(request, user, "files")
    try:
        yield upload
    finally:
        await form.close()


ApiUpload = Annotated[VideoUpload, Depends(_api_upload)]
PageUpload = Annotated[VideoUpload, Depends(_page_upload)]
