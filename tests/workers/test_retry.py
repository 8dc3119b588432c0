"""Retrying failed and stuck work: the API (admin only, CSRF for cookie
sessions), the video page's button, the states it refuses, and the
temporary clip folders of a killed ingest removed on retry."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from app.core.db import utcnow
from app.jobs.models import Job, JobStatus
from app.videos.models import Video, VideoStatus
from tests.factories.users import browser_login


@pytest.fixture
def sent(monkeypatch):
    """Tasks sent to the broker (kept out of the real queues)."""
    calls = []
    monkeypatch.setattr("app.jobs.service.publish", lambda task, args, *, queue: calls.append((task, args, queue)))
    return calls


def _job(session, **kw) -> Job:
    job = Job(kind="consensus", params={"method": "mv"}, **kw)
    session.add(job)
    session.commit()
    return job


def _video(session, **kw) -> Video:
    video = Video(scene_id=1, filename="a.mp4", path="videos/a.mp4", **kw)
    session.add(video)
    session.commit()
    return video


def test_failed_job_is_retried_from_the_start(client, session, admin_h, sent):
    job = _job(session, status=JobStatus.failed, error="boom", progress=0.4, attempts=3)
    r = client.post(f"/api/v1/jobs/{job.id}/retry", headers=admin_h)
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued" and r.json()["error"] is None and r.json()["attempts"] == 1
    assert sent == [("fervlab.run_job", [job.id], "cpu")]


def test_stuck_job_is_retried_but_a_live_or_done_one_is_not(client, session, admin_h, sent, settings):
    long_ago = utcnow() - timedelta(seconds=settings.work_stale_s + 5)
    stuck = _job(session, status=JobStatus.running, heartbeat_at=long_ago, run_token="dead")
    alive = _job(session, status=JobStatus.running, heartbeat_at=utcnow(), run_token="alive")
    done = _job(session, status=JobStatus.done)
    assert client.post(f"/api/v1/jobs/{stuck.id}/retry", headers=admin_h).status_code == 202
    r = client.post(f"/api/v1/jobs/{alive.id}/retry", headers=admin_h)
    assert r.status_code == 409 and "alive" in r.json()["detail"]
    r = client.post(f"/api/v1/jobs/{done.id}/retry", headers=admin_h)
    assert r.status_code == 409 and "done" in r.json()["detail"]
    assert client.post("/api/v1/jobs/999999/retry", headers=admin_h).status_code == 404
    assert [args for _, args, _ in sent] == [[stuck.id]]


def test_retry_is_for_admins_and_checks_csrf(client, session, admin, ann_h, sent):
    job = _job(session, status=JobStatus.failed)
    video = _video(session, status=VideoStatus.failed)
    for path in (f"/api/v1/jobs/{job.id}/retry", f"/api/v1/videos/{video.id}/retry"):
        assert client.post(path).status_code == 401
        assert client.post(path, headers=ann_h).status_code == 403
    browser_login(client, admin)
    page = client.get(f"/admin/videos/{video.id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    for path in (f"/api/v1/jobs/{job.id}/retry", f"/api/v1/videos/{video.id}/retry"):
        r = client.post(path)  # the session cookie alone
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
        assert client.post(path, headers={"X-CSRF-Token": token}).status_code == 202
    assert len(sent) == 2


def test_video_retry_removes_the_killed_runs_clip_folders(client, session, admin_h, sent, settings):
    video = _video(session, status=VideoStatus.processing, heartbeat_at=utcnow() - timedelta(hours=1),
                   run_token="dead")
    mine = settings.media_root / "tmp" / uuid.uuid4().hex / f"v{video.id}-t001-s00"
    (mine / "faces").mkdir(parents=True)
    (mine / "faces" / "00001.jpg").write_bytes(b"x")
    not_mine = settings.media_root / "tmp" / uuid.uuid4().hex / f"v{video.id}0-t001-s00"
    not_mine.mkdir(parents=True)
    r = client.post(f"/api/v1/videos/{video.id}/retry", headers=admin_h)
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert not mine.parent.exists() and not_mine.exists()
    assert sent == [("fervlab.ingest_video", [video.id], "cpu")]


def test_live_and_done_ingests_are_not_retried(client, session, admin_h, sent):
    alive = _video(session, status=VideoStatus.processing, heartbeat_at=utcnow(), run_token="alive")
    done = _video(session, status=VideoStatus.done)
    r = client.post(f"/api/v1/videos/{alive.id}/retry", headers=admin_h)
    assert r.status_code == 409 and "alive" in r.json()["detail"]
    assert client.post(f"/api/v1/videos/{done.id}/retry", headers=admin_h).status_code == 409
    # Re-ingesting a video a live worker is on would run it twice at once.
    assert client.post(f"/api/v1/videos/{alive.id}/ingest", headers=admin_h).status_code == 409
    assert sent == []


def test_the_video_page_retries_a_failed_ingest(client, session, admin, sent):
    video = _video(session, status=VideoStatus.failed, error="The worker stopped")
    browser_login(client, admin)
    page = client.get(f"/admin/videos/{video.id}").text
    assert "Retry ingest" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/videos/{video.id}/retry", data={}).status_code == 403
    r = client.post(f"/admin/videos/{video.id}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert "Retry ingest" not in client.get(f"/admin/videos/{video.id}").text  # queued now
    assert sent == [("fervlab.ingest_video", [video.id], "cpu")]


def test_the_benchmarks_job_list_offers_retry_to_admins_only(client, session, admin, ann, sent):
    job = Job(kind="train", params={"model": "frame_cnn"}, status=JobStatus.failed, error="The worker stopped")
    session.add(job)
    session.commit()
    browser_login(client, ann)
    assert "Retry" not in client.get("/benchmarks").text
    client.cookies.clear()
    browser_login(client, admin)
    page = client.get("/benchmarks").text
    assert f'action="/admin/jobs/{job.id}/retry"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/benchmarks"
    assert sent == [("fervlab.run_job", [job.id], "gpu")]
