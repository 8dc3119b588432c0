"""Enqueueing while the broker is down answers 503 with Retry-After at
once, and leaves no row that waits for a message that was never sent."""
from __future__ import annotations

import socket
import time

import pytest
from sqlmodel import select

from app.jobs.models import Job, JobStatus
from app.videos.models import Video, VideoStatus

# A fast answer, measured against the 20 s a request used to block (a bound, not a benchmark).
BOUND_S = 15


@pytest.fixture
def hung_port():
    """A TCP port that accepts connections and never answers (a hung broker)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 8158))
    srv.listen(64)
    yield 8158
    srv.close()


@pytest.fixture(params=["refused", "hung", "embedded"])
def dead_broker(request, monkeypatch, settings, tmp_path):
    from workers import celery_app as module

    if request.param == "refused":
        url = "redis://127.0.0.1:8159/5"  # nothing listens there
    elif request.param == "hung":
        url = f"redis://127.0.0.1:{request.getfixturevalue('hung_port')}/5"
    else:
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        url = f"sqla+sqlite:///{blocker}/broker.db"  # its folder cannot exist
    monkeypatch.setattr(settings, "broker_url", url)
    monkeypatch.setattr(settings, "result_backend", f"db+sqlite:///{tmp_path / 'results.db'}")
    monkeypatch.setattr(module, "celery_app", module.make_celery())
    return url


def test_job_enqueue_fails_fast_with_503_and_no_queued_row(client, session, admin_h, dead_broker):
    t0 = time.monotonic()
    r = client.post("/api/v1/prerank", headers=admin_h, json={})
    took = time.monotonic() - t0
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"].isdigit()
    assert "broker is unreachable" in r.json()["detail"] and "/retry" in r.json()["detail"]
    assert took < BOUND_S
    rows = session.exec(select(Job)).all()
    assert [(j.status, "broker" in (j.error or "")) for j in rows] == [(JobStatus.failed, True)]


def test_video_upload_fails_fast_with_503_and_no_queued_row(client, session, admin_h, dead_broker, tmp_path):
    from workers.ingest.synthetic import make_test_video

    src = make_test_video(tmp_path / "v.mp4", seconds=1.0, faces=0).path
    t0 = time.monotonic()
    with src.open("rb") as f:
        r = client.post("/api/v1/videos", headers=admin_h, data={"scene_id": "1"}, files={"file": ("v.mp4", f)})
    took = time.monotonic() - t0
    assert r.status_code == 503, r.text
    assert r.headers["retry-after"].isdigit() and took < BOUND_S
    rows = session.exec(select(Video)).all()
    assert [(v.status, "broker" in (v.error or "")) for v in rows] == [(VideoStatus.failed, True)]
    assert f"/api/v1/videos/{rows[0].id}/retry" in r.json()["detail"]
