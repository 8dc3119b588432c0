"""Fault tests with real worker processes and the real broker (embedded
SQLite by default, Redis on the PostgreSQL run): a worker killed with
SIGKILL in the middle of a job or an ingest leaves work that a restarted
worker finishes, or fails with a message — never work stuck for good."""
from __future__ import annotations

import time
import uuid

import pytest

from app.jobs import service as jobs
from app.jobs.models import Job, JobStatus
from app.videos import service as videos
from app.videos import storage
from app.videos.models import Video, VideoStatus
from tests.workers.workerproc import kill_hard, start_worker, stop_worker, wait_for


@pytest.fixture(autouse=True)
def _empty_queues():
    # Messages that earlier tests left would be taken by these workers.
    from workers.celery_app import celery_app

    celery_app.control.purge()
    yield
    celery_app.control.purge()


@pytest.fixture
def workers():
    started = []

    def start(**env):
        proc = start_worker(**env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        stop_worker(proc)


def fresh(session, model, row_id):
    session.rollback()  # a new snapshot for each look
    return session.get(model, row_id, populate_existing=True)


def test_job_of_a_killed_worker_is_finished_by_the_next_one(session, workers, tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    job = jobs.enqueue(session, kind="test-gate", params={"gate": str(gate)})
    first = workers()
    wait_for(lambda: fresh(session, Job, job.id).status == JobStatus.running, timeout_s=90,
             what="the first worker to start the job")
    kill_hard(first)
    gate.unlink()  # the next run goes through
    assert fresh(session, Job, job.id).status == JobStatus.running  # what a dead worker leaves

    workers()
    done = wait_for(lambda: (j := fresh(session, Job, job.id)).status == JobStatus.done and j, timeout_s=90,
                    what="the restarted worker to finish the job")
    assert done.result["ok"] and done.result["pid"] != first.pid
    assert done.attempts == 2 and done.error is None and done.run_token is None


def test_a_live_job_keeps_its_claim_past_the_stale_time(session, workers, tmp_path):
    from app.jobs.reaper import reap
    from tests.workers.workerproc import FAST_LIVENESS

    gate = tmp_path / "gate"
    gate.touch()
    job = jobs.enqueue(session, kind="test-gate", params={"gate": str(gate)})
    workers()
    running = wait_for(lambda: (j := fresh(session, Job, job.id)).status == JobStatus.running and j,
                       timeout_s=90, what="the worker to start the job")
    first_beat, token = running.heartbeat_at, running.run_token
    stale_s = float(FAST_LIVENESS["FERVLAB_WORK_STALE_S"])
    # Its heartbeat moves on while it runs, so the worker's own reaper leaves it be.
    wait_for(lambda: fresh(session, Job, job.id).heartbeat_at > first_beat, timeout_s=30, what="a heartbeat")
    time.sleep(2 * stale_s)
    held = fresh(session, Job, job.id)
    assert (held.status, held.attempts, held.run_token) == (JobStatus.running, 1, token)
    assert reap() == {"requeued": 0, "failed": 0}  # the default stale time here is longer still
    gate.unlink()
    wait_for(lambda: fresh(session, Job, job.id).status == JobStatus.done, timeout_s=60, what="the job to finish")


def test_job_that_keeps_losing_its_worker_fails_with_a_message(session, workers, tmp_path):
    gate = tmp_path / "gate"
    gate.touch()
    job = jobs.enqueue(session, kind="test-gate", params={"gate": str(gate)})
    first = workers(FERVLAB_WORK_MAX_ATTEMPTS="1")
    wait_for(lambda: fresh(session, Job, job.id).status == JobStatus.running, timeout_s=90,
             what="the worker to start the job")
    kill_hard(first)

    workers(FERVLAB_WORK_MAX_ATTEMPTS="1")
    failed = wait_for(lambda: (j := fresh(session, Job, job.id)).status == JobStatus.failed and j, timeout_s=90,
                      what="the reaper to fail the job")
    assert "worker running this job stopped" in failed.error and f"/api/v1/jobs/{job.id}/retry" in failed.error
    assert failed.finished_at is not None


def test_ingest_of_a_killed_worker_is_finished_and_its_leftovers_removed(session, workers, tmp_path, settings):
    from workers.ingest.synthetic import make_test_video

    src = make_test_video(tmp_path / "long.mp4", seconds=20.0, fps=24, faces=1).path
    video, _ = videos.register(session, scene_id=1, staged=storage.stage_local(src))
    videos.enqueue_ingest(video)
    first = workers()
    wait_for(lambda: fresh(session, Video, video.id).status == VideoStatus.processing, timeout_s=90,
             what="the first worker to start the ingest", every_s=0.02)
    kill_hard(first)
    assert fresh(session, Video, video.id).status == VideoStatus.processing, "killed after it finished"
    # What a run killed while writing clips leaves (unpublished work folders).
    leftover = settings.media_root / "tmp" / uuid.uuid4().hex / f"v{video.id}-t000-s00"
    (leftover / "faces").mkdir(parents=True)
    other = settings.media_root / "tmp" / uuid.uuid4().hex / f"v{video.id + 1}-t000-s00"
    other.mkdir(parents=True)

    workers()
    done = wait_for(lambda: (v := fresh(session, Video, video.id)).status in (VideoStatus.done, VideoStatus.failed)
                    and v, timeout_s=180, what="the restarted worker to finish the ingest")
    assert done.status == VideoStatus.done, done.error
    assert done.clips_count >= 1 and done.attempts == 2 and done.error is None
    assert not leftover.exists() and not leftover.parent.exists()
    assert other.exists()  # another video's work is not touched
