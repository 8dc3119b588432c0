"""A crowd's first requests all at once (issue 10, defect 1): 300 annotators
whose tokens the auth cache has never seen call the API in the same instant,
against a real server and the configured database (PostgreSQL in CI's second
run). Every one is answered within the issue's 10 s with 200 or a 503 that
names a Retry-After, and every 503 succeeds when retried.

Before the fix the auth dependency kept its pooled connection across the
thread hop to the handler: 40 requests held the 40 connections while the 40
threads waited for one, so nothing was answered until the pool's 30 s timeout
turned them into 500s."""
from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from typing import NamedTuple

import httpx
import pytest
from sqlalchemy import text

from app.core import auth_cache
from app.core.deps import SessionDep
from app.core.security import hash_token, new_api_token
from app.users.models import ApiToken, User
from bench.labelling_load import Conn
from tests.labeling.live import live_server

BURST = 300
# The criterion, not a speed target: 300 cold logins cost a few ms
# each, and a request that cannot get a connection is sent away with 503.
ANSWERED_WITHIN_S = 10.0


class Answer(NamedTuple):
    status: int
    headers: dict
    body: object


def cold_tokens(session, n: int, prefix: str) -> list[str]:
    """n annotators with one API token each, in one transaction."""
    users = [User(email=f"{prefix}{i}@example.org", password_hash="-") for i in range(n)]
    session.add_all(users)
    session.flush()
    tokens = [new_api_token() for _ in users]
    session.add_all([ApiToken(user_id=u.id, name="burst", token_hash=hash_token(t)) for u, t in zip(users, tokens)])
    session.commit()
    auth_cache.clear()
    return tokens


async def _call(port: int, token: str, path: str) -> Answer | Exception:
    """One client, one new connection, one request (the bench's light raw
    HTTP/1.1 client, so the client's CPU stays small beside the server's)."""
    conn = Conn("127.0.0.1", port, token)
    try:
        async with asyncio.timeout(ANSWERED_WITHIN_S):
            await conn.open()
            status, body = await conn.call("GET", path)
        return Answer(status, conn.headers, json.loads(body) if body else None)
    except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:  # no answer: the defect
        return exc
    finally:
        conn.close()


async def _all_at_once(port: int, tokens: list[str], path: str) -> list[Answer | Exception]:
    start = asyncio.Event()

    async def one(token: str):
        await start.wait()
        return await _call(port, token, path)

    calls = [asyncio.create_task(one(t)) for t in tokens]
    await asyncio.sleep(0)
    start.set()
    return await asyncio.gather(*calls)


async def _retry_until_served(port: int, tokens: list[str], path: str) -> Counter:
    """Each client that got 503 comes back after its Retry-After, up to 5 times."""
    async def one(token: str) -> int | str:
        for _ in range(5):
            a = await _call(port, token, path)
            if isinstance(a, Exception):
                return type(a).__name__
            if a.status != 503:
                return a.status
            await asyncio.sleep(float(a.headers["retry-after"]))
        return 503

    return Counter(await asyncio.gather(*(one(t) for t in tokens)))


@pytest.mark.slow
def test_300_cold_first_requests_are_answered_2xx_or_503(app, session):
    tokens = cold_tokens(session, BURST, "burst")
    with live_server(app) as base:
        port = int(base.rsplit(":", 1)[1])
        answers = asyncio.run(_all_at_once(port, tokens, "/api/v1/me"))
        failed = [type(a).__name__ for a in answers if isinstance(a, Exception)]
        assert failed == [], f"{len(failed)} of {BURST} got no answer within {ANSWERED_WITHIN_S:g} s: {Counter(failed)}"
        statuses = Counter(a.status for a in answers)
        assert set(statuses) <= {200, 503}, statuses
        assert statuses[200] > 0, statuses
        for a in answers:
            if a.status == 503:
                assert int(a.headers["retry-after"]) >= 1
                assert "try again" in a.body["detail"]
        turned_away = [t for t, a in zip(tokens, answers) if a.status == 503]
        if turned_away:
            retried = asyncio.run(_retry_until_served(port, turned_away, "/api/v1/me"))
            assert retried == Counter({200: len(turned_away)})
    # Each answer is its own annotator's.
    mine = [a.body["email"] for a in answers if a.status == 200]
    assert len(mine) == len(set(mine)) == statuses[200]


def test_a_request_without_a_database_slot_in_time_answers_503(app, session, settings, monkeypatch):
    """One slot, held by a slow request: the next is sent away after
    db_wait_s with 503 and Retry-After, and is served once the slot is free."""
    monkeypatch.setattr(settings, "db_connections", 1)
    monkeypatch.setattr(settings, "db_wait_s", 0.3)
    inside, release = threading.Event(), threading.Event()

    @app.get("/test/hold")
    def hold(s: SessionDep) -> dict:
        s.execute(text("SELECT 1"))
        inside.set()
        release.wait(30)
        return {"held": True}

    token = cold_tokens(session, 1, "slot")[0]
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        holder: list[httpx.Response] = []
        t = threading.Thread(target=lambda: holder.append(http.get("/test/hold")))
        t.start()
        assert inside.wait(30)
        me = {"Authorization": f"Bearer {token}"}
        busy = http.get("/api/v1/me", headers=me)
        release.set()
        t.join(30)
        assert busy.status_code == 503, busy.text
        assert int(busy.headers["retry-after"]) >= 1
        assert holder[0].status_code == 200
        assert http.get("/api/v1/me", headers=me).status_code == 200


def test_a_file_streaming_to_a_slow_client_holds_no_database_slot(app, session, settings, monkeypatch, admin_h):
    """A preview the browser reads slowly keeps its request open long after
    the handler let the database go; that request must not keep the slot."""
    import socket

    from tests.factories.clips import make_clips

    clip = make_clips(session, 1)[0]
    (settings.media_root / clip.preview_path).write_bytes(b"\0" * (64 << 20))  # far more than socket buffers hold
    monkeypatch.setattr(settings, "db_connections", 1)
    monkeypatch.setattr(settings, "db_wait_s", 0.5)
    token = cold_tokens(session, 1, "stream")[0]
    with live_server(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        port = int(base.rsplit(":", 1)[1])
        slow = socket.create_connection(("127.0.0.1", port))
        try:
            slow.sendall(f"GET /media/clips/{clip.id}/preview.mp4 HTTP/1.1\r\nHost: x\r\n"
                         f"Authorization: {admin_h['Authorization']}\r\n\r\n".encode())
            assert slow.recv(12) == b"HTTP/1.1 200"  # streaming, and never read further
            me = http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert me.status_code == 200, me.text
        finally:
            slow.close()
