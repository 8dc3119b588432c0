"""`fervlab serve` and its embedded worker: the worker ends with serve,
whether serve is stopped (SIGTERM) or killed (SIGKILL)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest

from tests.workers.workerproc import pid_gone, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def serve(tmp_path):
    procs = []

    def start(port: int):
        var = tmp_path / f"var{port}"
        env = {**os.environ, "PYTHONPATH": ROOT, "FERVLAB_VAR_DIR": str(var), "FERVLAB_MEDIA_ROOT": str(var / "media"),
               "FERVLAB_DATABASE_URL": f"sqlite:///{var / 'db.sqlite'}", "FERVLAB_BROKER_URL": ""}
        subprocess.run([sys.executable, "-m", "app.cli", "init"], env=env, check=True, capture_output=True,
                       timeout=120)
        log = (tmp_path / f"serve{port}.log").open("w+")
        proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)

        def worker_pid():
            log.seek(0)
            m = re.search(r"embedded worker started \(pid (\d+)\)", log.read())
            return m and int(m.group(1))

        pid = wait_for(worker_pid, timeout_s=60, what="serve to start its worker")
        # Until the worker has read its settings it cannot watch its parent; wait for it to be up.
        wait_for(lambda: (log.seek(0) or "ready" in log.read()), timeout_s=90, what="the worker to be ready")
        return proc, pid

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("sig, port", [(signal.SIGTERM, 8150), (signal.SIGKILL, 8151)])
def test_the_embedded_worker_ends_with_serve(serve, sig, port):
    proc, worker = serve(port)
    assert not pid_gone(worker)
    proc.send_signal(sig)
    proc.wait(timeout=30)
    try:
        wait_for(lambda: pid_gone(worker), timeout_s=15, what=f"the worker to end after serve got {sig.name}")
    finally:
        if not pid_gone(worker):
            os.kill(worker, signal.SIGKILL)
