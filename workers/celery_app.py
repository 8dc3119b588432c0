"""The Celery app. Two queues: `cpu` (video, consensus) and `gpu` (models).

The same code runs on the embedded broker (kombu's SQLAlchemy transport on
SQLite, no server) and on Redis; only FERVLAB_BROKER_URL differs."""
from __future__ import annotations

from celery import Celery
from kombu import Exchange, Queue

from app.core.config import get_settings


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
