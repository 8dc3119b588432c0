"""The Celery app as the fault tests run it: the real one, plus a job kind
that holds its worker while a gate file exists (so a test can kill the
worker in the middle of a job)."""
import os
import time
from pathlib import Path

from workers.celery_app import celery_app  # noqa: F401 - `celery -A tests.workers.fault_app`
from workers.jobs import register

register("test-gate", "tests.workers.fault_app:run_gated")


def run_gated(params: dict, progress) -> dict:
    progress(0.5, "waiting at the gate")
    gate = Path(params["gate"])
    while gate.exists():
        time.sleep(0.05)
    return {"ok": True, "pid": os.getpid()}
