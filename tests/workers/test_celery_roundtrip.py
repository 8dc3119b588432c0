"""A real worker process against the configured broker (embedded SQLite by
default, Redis when FERVLAB_BROKER_URL says so)."""
import os
import subprocess
import sys
import time
import uuid

import pytest

from app.core.config import get_settings


@pytest.fixture
def worker_process():
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker", "-Q", "cpu,gpu",
         "-c", "1", "-P", "solo", "--loglevel", "WARNING", "-n", f"test-{uuid.uuid4().hex[:6]}@%h"],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_health_task_round_trips_through_the_broker(worker_process):
    from workers.tasks import health

    nonce = uuid.uuid4().hex
    t0 = time.monotonic()
    result = health.apply_async(args=[nonce], queue="cpu").get(timeout=90)
    assert result["pong"] == nonce
    assert time.monotonic() - t0 < 90
    backend = "redis" if get_settings().broker_url.startswith("redis") else "embedded"
    print(f"round trip on {backend} broker: {time.monotonic() - t0:.2f}s")
