"""Bodies are bounded as they stream and uploads are read only after
authentication: the app under test is wrapped in a counter of the body
bytes it actually pulled from the client."""
from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

CHUNK = 64 * 1024


class Counting:
    """ASGI wrapper: how many request-body bytes the app consumed."""

    def __init__(self, app):
        self.app, self.pulled = app, 0

    async def __call__(self, scope, receive, send):
        async def counted():
            msg = await receive()
            if msg["type"] == "http.request":
                self.pulled += len(msg.get("body", b""))
            return msg

        await self.app(scope, counted, send)


@pytest.fixture
def counted(app):
    wrapped = Counting(app)
    with TestClient(wrapped) as c:
        yield c, wrapped


def _stream(total: int):
    """`total` bytes in CHUNK-sized pieces."""
    sent = 0
    while sent < total:
        n = min(CHUNK, total - sent)
        sent += n
        yield b"x" * n


def post_streamed(app, path: str, chunks, headers: dict[str, str]) -> tuple[int, bytes, int]:
    """POST a body chunk by chunk, without Content-Length, straight to the
    ASGI app (the TestClient reads a whole body before sending it);
    returns (status, response body, request-body bytes the app pulled)."""
    import anyio

    pieces = iter(chunks)
    out = {"status": None, "body": b"", "pulled": 0}
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
             "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()] + [(b"host", b"test")],
             "client": ("127.0.0.1", 1), "server": ("test", 80), "state": {}}

    async def receive():
        chunk = next(pieces, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        out["pulled"] += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(msg):
        if msg["type"] == "http.response.start":
            out["status"] = msg["status"]
        elif msg["type"] == "http.response.body":
            out["body"] += msg.get("body", b"")

    anyio.run(app, scope, receive, send)
    return out["status"], out["body"], out["pulled"]


def test_big_json_is_refused_from_its_content_length_before_a_byte_is_read(counted):
    c, app = counted
    r = c.post("/api/v1/auth/token", content=b"{" + b" " * (8 << 20) + b"}",
               headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "FERVLAB_MAX_BODY_KB" in r.json()["detail"]
    assert app.pulled == 0


def test_big_chunked_json_is_cut_off_at_the_limit(app, settings):
    status, body, pulled = post_streamed(app, "/api/v1/auth/token", _stream(8 << 20),
                                         {"content-type": "application/json"})
    assert status == 413 and b"KB limit" in body
    assert pulled <= settings.max_body_kb * 1024 + CHUNK


def _multipart(size: int, boundary: str = "fervlabtest"):
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"scene_id\"\r\n\r\n1\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def gen():
        yield head
        yield from _stream(size)
        yield tail
    return gen(), {"content-type": f"multipart/form-data; boundary={boundary}"}


def _token(headers: dict) -> dict:
    return {"authorization": headers["Authorization"]}


@pytest.mark.parametrize("path", ["/api/v1/videos", "/admin/videos"])
def test_anonymous_upload_is_refused_without_reading_it(app, settings, path):
    body, headers = _multipart(8 << 20)
    status, _, pulled = post_streamed(app, path, body, headers)
    assert status in (401, 303)  # the page sends people to /login
    assert pulled == 0
    tmp = settings.media_root / "uploads" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def test_annotator_upload_is_refused_without_reading_it(app, ann_h):
    body, headers = _multipart(4 << 20)
    status, _, pulled = post_streamed(app, "/api/v1/videos", body, {**headers, **_token(ann_h)})
    assert status == 403
    assert pulled == 0


def test_admin_upload_over_the_limit_stops_at_the_limit(app, settings, admin_h, monkeypatch):
    monkeypatch.setattr(settings, "max_upload_mb", 1)
    body, headers = _multipart(16 << 20)
    status, text, pulled = post_streamed(app, "/api/v1/videos", body, {**headers, **_token(admin_h)})
    assert status == 413, text
    assert b"1 MB limit" in text
    assert pulled <= (1 << 20) + 64 * 1024 + 2 * CHUNK
    tmp = settings.media_root / "uploads" / "tmp"
    assert not tmp.exists() or not any(tmp.iterdir())


def test_admin_upload_over_the_limit_by_content_length_is_refused_unread(counted, settings, admin_h, monkeypatch):
    monkeypatch.setattr(settings, "max_upload_mb", 1)
    c, app = counted
    r = c.post("/api/v1/videos", headers=admin_h, data={"scene_id": "1"},
               files={"file": ("big.mp4", b"\0" * (3 << 20), "video/mp4")})
    assert r.status_code == 413
    assert app.pulled == 0


def test_small_bodies_and_uploads_still_pass(counted, admin_h):
    c, _ = counted
    r = c.post("/api/v1/auth/token", json={"email": "nobody@example.org", "password": "wrong-password"})
    assert r.status_code == 401
    r = c.post("/api/v1/videos", headers=admin_h, data={"scene_id": "1"},
               files={"file": ("empty.mp4", b"", "video/mp4")})
    assert r.status_code == 422 and "empty" in r.json()["detail"]
