"""Celery tasks: thin. Ids in, call a pipeline, persist. Safe to run twice."""
from __future__ import annotations

import socket

from workers.celery_app import celery_app


@celery_app.task(name="fervlab.health")
def health(nonce: str) -> dict:
    """Round trip through the broker and back through the result backend."""
    return {"pong": nonce, "worker": socket.gethostname()}


@celery_app.task(name="fervlab.run_job", bind=True)
def run_job(self, job_id: int) -> dict:
    from workers.jobs import execute_job

    return execute_job(job_id)


@celery_app.task(name="fervlab.ingest_video")
def ingest_video_task(video_id: int) -> dict:
    from workers.ingest.job import run_ingest

    return run_ingest(video_id)
