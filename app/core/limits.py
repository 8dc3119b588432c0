"""Request bodies bounded as they stream, before any handler reads them.

A pure ASGI middleware (no buffering of its own): a body that says, in its
Content-Length, that it is over the limit is answered 413 before a byte of
it is read; one that does not say (chunked) or lies is cut off at the limit
while it streams. Upload routes (a multipart body documented with
`multipart_body`, or File parameters) get `FERVLAB_MAX_UPLOAD_MB`; every
other route (JSON and forms) `FERVLAB_MAX_BODY_KB`. This runs before authentication, so an anonymous
client can make the server hold at most one small body.
"""
from __future__ import annotations

import json
from typing import get_args

from fastapi import UploadFile
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import get_settings
from app.core.routing import api_route, flat_routes

# Multipart framing (boundaries, part headers, the small form fields beside
# the file) on top of the file's own size limit.
MULTIPART_SLACK = 64 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, detail: str):
        super().__init__(status_code=413, detail=detail)


def _types(annotation) -> set:
    out, stack = set(), [annotation]
    while stack:
        t = stack.pop()
        out.add(t)
        stack.extend(get_args(t))
    return out


def _has_file_param(dependant) -> bool:
    stack = [dependant]
    while stack:
        d = stack.pop()
        if any(UploadFile in _types(f.field_info.annotation) for f in d.body_params):
            return True
        stack.extend(d.dependencies)
    return False


def multipart_body(properties: dict, required: list[str]) -> dict:
    """`openapi_extra` for a route that reads its multipart body itself,
    after authentication (FastAPI's File/Form parameters are read before
    any dependency runs): documents the body and marks the route as an
    upload for the limit here."""
    schema = {"type": "object", "properties": properties, "required": required}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def is_upload_route(route) -> bool:
    """Whether a route takes an upload: File parameters, or a multipart body
    documented with `multipart_body`."""
    extra = getattr(route, "openapi_extra", None) or {}
    if "multipart/form-data" in extra.get("requestBody", {}).get("content", {}):
        return True
    original = api_route(route)
    return original is not None and _has_file_param(original.dependant)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._upload_routes: list | None = None

    def _limits(self, scope: Scope) -> tuple[int, str]:
        s = get_settings()
        if self._upload_routes is None:
            self._upload_routes = [r for r in flat_routes(scope["app"]) if is_upload_route(r)]
        for route in self._upload_routes:
            if route.matches(scope)[0] == Match.FULL:
                return (s.max_upload_bytes + MULTIPART_SLACK,
                        f"The upload is larger than the {s.max_upload_mb} MB limit (FERVLAB_MAX_UPLOAD_MB).")
        return (s.max_body_kb * 1024,
                f"The request body is larger than the {s.max_body_kb} KB limit (FERVLAB_MAX_BODY_KB).")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            # Bodies of reads are never read by a handler.
            await self.app(scope, receive, send)
            return
        limit, message = self._limits(scope)
        length = _content_length(scope)
        if length is not None and length > limit:
            await _refuse(send, message)
            return

        received = 0
        started = False

        async def bounded_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(message)
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except BodyTooLarge:
            # Where no exception handler turned it into a response.
            if not started:
                await _refuse(send, message)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
