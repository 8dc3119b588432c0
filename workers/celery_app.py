"""The Celery app. Two queues: `cpu` (video, consensus) and `gpu` (models).

The same code runs on the embedded broker (kombu's SQLAlchemy transport on
SQLite, no server) and on Redis; only FERVLAB_BROKER_URL differs."""
from __future__ import annotations

import logging
import os
import sys
import threading
import time

from celery import Celery, signals
from kombu import Exchange, Queue

from app.core.config import get_settings

log = logging.getLogger(__name__)


def _transport_options(s) -> dict:
    if s.broker_is_embedded:
        return {}  # kombu's SQLAlchemy transport hands its options to create_engine
    return {
        # Redis hands an unacknowledged task to another worker after this:
        # longer than any task, so a running one is never duplicated.
        "visibility_timeout": s.task_visibility_timeout_s,
        "socket_connect_timeout": s.broker_connect_timeout_s,
        "socket_timeout": max(s.broker_connect_timeout_s, 5.0),
    }


def make_celery() -> Celery:
    s = get_settings()
    app = Celery("fervlab", broker=s.broker_url, backend=s.result_backend, include=["workers.tasks"])
    app.conf.update(
        # Each queue its own exchange and key: a task sent to one queue must
        # never be copied into the other.
        task_queues=[Queue("cpu", Exchange("cpu"), routing_key="cpu"),
                     Queue("gpu", Exchange("gpu"), routing_key="gpu")],
        task_default_queue="cpu",
        task_acks_late=True,  # a worker killed mid-task gets it redelivered
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options=_transport_options(s),
        # Sending fails fast (see app.jobs.service.publish): the request answers
        # 503 instead of hanging while the broker is down.
        broker_connection_timeout=s.broker_connect_timeout_s,
        task_publish_retry=False,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=24 * 3600,
        task_always_eager=s.task_always_eager,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


celery_app = make_celery()


# --- in every worker process ------------------------------------------------

@signals.worker_process_init.connect
def _fresh_engine(**_kw) -> None:
    """A forked pool process must not share the parent's pooled connections."""
    from app.core.db import get_engine

    get_engine().dispose(close=False)


class Reaper(threading.Thread):
    """Runs app.jobs.reaper.reap at start and every FERVLAB_REAPER_INTERVAL_S."""

    def __init__(self) -> None:
        super().__init__(name="fervlab-reaper", daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        from app.jobs.reaper import reap

        while True:
            try:
                counts = reap()
                if any(counts.values()):
                    log.warning("reaper: %s", counts)
            except Exception:  # noqa: BLE001 - the database may be away for a while; try again later
                log.exception("reaper pass failed")
            if self.stopped.wait(get_settings().reaper_interval_s):
                return


_reaper: Reaper | None = None


@signals.worker_ready.connect
def _start_reaper(**_kw) -> None:
    global _reaper
    _reaper = Reaper()
    _reaper.start()


@signals.worker_shutdown.connect
def _stop_reaper(**_kw) -> None:
    if _reaper is not None:
        _reaper.stopped.set()


# --- the embedded worker of `fervlab serve` dies with it ----------------------

def watch_parent(parent_pid: int, *, every_s: float = 1.0) -> None:
    """End this process when `parent_pid` is no longer its parent. Linux is
    told to SIGKILL us when the parent dies (PR_SET_PDEATHSIG, which covers a
    kill -9 of the parent); a thread polling the parent id covers the rest."""
    from celery import platforms

    try:
        platforms.set_pdeathsig("SIGKILL")
    except Exception:  # noqa: BLE001 - not Linux: the thread below does it
        pass

    def gone() -> bool:
        return os.getppid() != parent_pid

    if gone():  # it died before we could ask
        os._exit(1)

    def poll() -> None:
        while True:
            time.sleep(every_s)
            if gone():
                print("fervlab worker: the serving process is gone; stopping", file=sys.stderr, flush=True)
                os._exit(1)

    threading.Thread(target=poll, name="fervlab-parent-watch", daemon=True).start()


@signals.worker_init.connect
def _watch_serve(**_kw) -> None:
    parent = get_settings().embedded_parent_pid
    if parent:
        watch_parent(parent)
