"""Real Celery worker processes for the fault tests, and bounded waits."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

# Liveness settings small enough for a test: a killed run is noticed in 5 s
# (ten missed beats, so a loaded machine does not pass for a dead worker).
FAST_LIVENESS = {"FERVLAB_WORK_HEARTBEAT_S": "0.5", "FERVLAB_WORK_STALE_S": "5",
                 "FERVLAB_REAPER_INTERVAL_S": "0.5"}


def start_worker(**env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tests.workers.fault_app:celery_app", "worker", "-Q", "cpu,gpu",
         "-c", "1", "-P", "solo", "--loglevel", "WARNING", "-n", f"fault-{uuid.uuid4().hex[:6]}@%h"],
        env={**os.environ, **FAST_LIVENESS, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def stop_worker(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def kill_hard(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


def wait_for(predicate, *, timeout_s: float, what: str, every_s: float = 0.1):
    """Poll until `predicate()` is truthy (returning it); fail after the bound."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(every_s)


def pid_gone(pid: int) -> bool:
    """True once the process has exited (a zombie that nobody reaped counts)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False
