"""Runs a Job row: looks up the runner for its kind and records the outcome.

Runners are plain functions `(params, progress) -> dict` so the CLI can call
them in the calling process and the workers through `run_job`."""
from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module

from app.core.db import session_scope
from app.jobs import service as jobs
from app.jobs.liveness import JOBS, Heartbeat, claim, new_token
from app.jobs.models import Job, JobStatus

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]

# kind → "module:function"; modules import lazily so torch loads only where used.
RUNNERS: dict[str, str] = {
    "train": "workers.dfer.jobs:run_train",
    "evaluate": "workers.dfer.jobs:run_evaluate",
    "prerank": "workers.dfer.jobs:run_prerank",
    "consensus": "app.consensus.runs:run_job",
}


def register(kind: str, target: str) -> None:
    RUNNERS[kind] = target


def runner_for(kind: str) -> Callable[[dict, Progress], dict]:
    if kind not in RUNNERS:
        raise KeyError(f"no runner for job kind '{kind}'")
    module, func = RUNNERS[kind].split(":")
    return getattr(import_module(module), func)


def execute_job(job_id: int) -> dict:
    """Claim the job, run it with a heartbeat, record the outcome. A copy of
    a task whose job is done or held by a live run does nothing."""
    token = new_token()
    with session_scope() as session:
        job = session.get(Job, job_id)
        if job is None:
            log.warning("job %s vanished", job_id)
            return {"error": f"job {job_id} does not exist"}
        if job.status == JobStatus.done:
            return job.result  # ran already: running twice is a no-op
    if not claim(JOBS, job_id, token):
        with session_scope() as session:
            job = session.get(Job, job_id)
            if job.status == JobStatus.done:
                return job.result
            return {"skipped": f"job {job_id} is {JobStatus(job.status).value}: not claimed by this run"}
    with session_scope() as session:
        job = session.get(Job, job_id)
        jobs.mark(session, job, status=JobStatus.running, progress=0.0)
        kind, params = job.kind, dict(job.params)

    def progress(frac: float, _stage: str = "") -> None:
        with session_scope() as s:
            j = s.get(Job, job_id)
            if j is not None and j.run_token == token:
                j.progress = float(frac)
                s.add(j)

    with Heartbeat(JOBS, job_id, token):
        try:
            result = runner_for(kind)(params, progress)
        except Exception as exc:  # noqa: BLE001 - recorded on the job for the user to read
            log.exception("job %s failed", job_id)
            with session_scope() as session:
                jobs.mark(session, session.get(Job, job_id), status=JobStatus.failed,
                          error=f"{type(exc).__name__}: {exc}")
            raise
    with session_scope() as session:
        job = session.get(Job, job_id)
        job.error = None  # a note left by the reaper on an earlier attempt
        jobs.mark(session, job, status=JobStatus.done, result=result, progress=1.0)
    return result
