"""The worker that `fervlab serve` starts beside the web app on the embedded
broker, and its lifecycle: it stops when serve stops (SIGTERM, Ctrl-C) and
dies with serve when serve is killed (the worker watches its parent, see
workers/celery_app.py `watch_parent`), so restarts never pile up workers."""
from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

STOP_GRACE_S = 10.0  # a warm shutdown finishes the task in hand; then it is killed


def start(argv: list[str]) -> subprocess.Popen:
    env = dict(os.environ, FERVLAB_EMBEDDED_PARENT_PID=str(os.getpid()))
    return subprocess.Popen(argv, env=env)


def stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGTERM)
    try:
        child.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait(timeout=5)


class Stopped(SystemExit):
    pass


@contextmanager
def signals_unwind() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception, so `finally` blocks run: uvicorn
    shuts down gracefully on a signal and then re-raises it, which by default
    ends the process on the spot."""
    def raise_stopped(signum, _frame):
        raise Stopped(128 + signum)

    saved = {sig: signal.signal(sig, raise_stopped) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
