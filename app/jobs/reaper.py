"""The reaper: work whose worker died is re-queued or failed, with a message.

Runs in every worker (at start and every FERVLAB_REAPER_INTERVAL_S, see
workers/celery_app.py), so a restarted worker — or `fervlab serve`'s embedded
one — heals what the dead one left. Every change is one conditional UPDATE,
so several reapers at once act on each row at most once.

- running (a job) / processing (an ingest) with no heartbeat for
  FERVLAB_WORK_STALE_S: its worker is gone (killed, out of memory, machine
  lost; on the embedded broker its message went with it). Re-queued while it
  has been sent fewer than FERVLAB_WORK_MAX_ATTEMPTS times, failed after.
- queued and not taken for FERVLAB_WORK_QUEUE_STALE_S while nothing on its
  queue is alive (a backlog behind a live worker is not stuck): re-sent in
  case its message was lost, failed after the same number of sends.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import and_, or_, select, update

from app.core.config import get_settings
from app.core.db import session_scope, utcnow
from app.jobs.liveness import INGESTS, JOBS, WorkKind, stale_cutoff
from app.jobs.service import QUEUES

log = logging.getLogger(__name__)


def _queue_of(kind: WorkKind, row) -> str:
    return QUEUES.get(row.kind, "cpu") if kind is JOBS else "cpu"


def _retry_hint(kind: WorkKind, row_id: int) -> str:
    if kind is JOBS:
        return f"Retry it from its page or with POST /api/v1/jobs/{row_id}/retry."
    return f"Retry it from the video's page or with POST /api/v1/videos/{row_id}/retry."


def _alive_queues(session) -> set[str]:
    cutoff = stale_cutoff()
    alive = set()
    for kind in (JOBS, INGESTS):
        m = kind.model
        rows = session.execute(select(m).where(m.status == kind.running, m.heartbeat_at >= cutoff)).scalars()
        alive |= {_queue_of(kind, r) for r in rows}
    return alive


def _send(kind: WorkKind, row_id: int) -> None:
    from app.jobs import service as jobs

    task = "fervlab.run_job" if kind is JOBS else "fervlab.ingest_video"
    with session_scope() as session:
        row = session.get(kind.model, row_id)
        queue = _queue_of(kind, row)
    try:
        jobs.publish(task, [row_id], queue=queue)
    except Exception as exc:  # noqa: BLE001 - left queued; the next pass sends it again
        log.warning("reaper: could not send %s %s (%s); will try again", kind.noun, row_id, exc)


def _settle(kind: WorkKind, row, *, was: str, since_col, cutoff, why: str) -> str | None:
    """Re-queue or fail one row, if it is still as we saw it. Returns what was done."""
    s = get_settings()
    m = kind.model
    still = and_(m.id == row.id, m.status == was, or_(since_col.is_(None), since_col < cutoff))
    if row.attempts < s.work_max_attempts:
        values = dict(status=kind.queued, run_token=None, heartbeat_at=utcnow(), attempts=m.attempts + 1,
                      error=f"{why}; sent again (attempt {row.attempts + 1} of {s.work_max_attempts}).")
        if kind is INGESTS:
            values["stage"] = "queued"
        action = "requeued"
    else:
        values = dict(status=kind.failed, run_token=None,
                      error=f"{why}, {row.attempts} time(s); gave up. {_retry_hint(kind, row.id)}")
        if kind is JOBS:
            values["finished_at"] = utcnow()
        else:
            values["stage"] = "failed"
        action = "failed"
    if kind is INGESTS:
        values["updated_at"] = utcnow()
    with session_scope() as session:
        if session.execute(update(m).where(still).values(**values)).rowcount != 1:
            return None  # another reaper, or the work itself, got there first
    if action == "requeued":
        if kind is INGESTS:
            from workers.ingest.job import remove_leftovers

            remove_leftovers(row.id)
        _send(kind, row.id)
    log.warning("reaper: %s %s %s: %s", kind.noun, row.id, action, values["error"])
    return action


def reap() -> dict[str, int]:
    """One pass over jobs and ingests; returns counts by action."""
    s = get_settings()
    now = utcnow()
    counts = {"requeued": 0, "failed": 0}
    run_cutoff = stale_cutoff(now)
    queue_cutoff = now - timedelta(seconds=s.work_queue_stale_s)
    with session_scope() as session:
        alive = _alive_queues(session)
        found = []
        for kind in (JOBS, INGESTS):
            m = kind.model
            stale_running = select(m).where(m.status == kind.running,
                                            or_(m.heartbeat_at.is_(None), m.heartbeat_at < run_cutoff))
            found += [(kind, r, kind.running, run_cutoff) for r in session.execute(stale_running).scalars()]
            waiting = select(m).where(m.status == kind.queued,
                                      or_(m.heartbeat_at < queue_cutoff,
                                          and_(m.heartbeat_at.is_(None), m.created_at < queue_cutoff)))
            found += [(kind, r, kind.queued, queue_cutoff) for r in session.execute(waiting).scalars()
                      if _queue_of(kind, r) not in alive]
        session.expunge_all()
    for kind, row, was, cutoff in found:
        if was == kind.running:
            why = (f"The worker running this {kind.noun} stopped (no heartbeat for "
                   f"{s.work_stale_s:.0f} s: killed or lost)")
        else:
            why = (f"No worker took this {kind.noun} from queue '{_queue_of(kind, row)}' for "
                   f"{s.work_queue_stale_s:.0f} s (is a worker on that queue running?)")
        action = _settle(kind, row, was=was, since_col=kind.model.heartbeat_at, cutoff=cutoff, why=why)
        if action:
            counts[action] += 1
    return counts

