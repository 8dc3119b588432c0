"""Full consensus runs: every vote, one aggregator fit, a versioned result.

A run reads all votes (retracted ones are gone, excluded ones skipped; passes
and not-a-face votes count for the policy only), fits the aggregator with the
gold answers clamped, stores a ConsensusRun (its annotator parameters in
`model_state`, which the per-vote fast path then uses) with a frozen
ConsensusLabel per clip, and refreshes the live labels and the pools.

Three transactions, so that on SQLite the write lock is held only while
writing (the job's progress is written from another session in between):
read, fit (no database), write.
"""
from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, func, select

from app.benchmarks.models import Prediction
from app.clips.models import GoldAnswer
from app.consensus import service as live
from app.consensus.aggregators import DEFAULT_METHOD, AggregationError, Votes, get_aggregator
from app.consensus.models import ConsensusLabel, ConsensusRun, LabelStatus
from app.core.db import utcnow
from app.core.errors import Invalid, NotFound
from app.labeling import pool
from app.labeling.models import Annotation, Campaign, CampaignClip
from app.labeling.txn import write_transaction
from app.review.models import Review

Progress = Callable[[float, str], None]

# Settings a run uses unless told otherwise. The live policy thresholds the
# posteriors, so they must be calibrated, not only right: with tens of votes
# per annotator and class, Dawid–Skene's default pseudo-count (0.01) puts
# almost no mass on confusions not seen yet and its posteriors are
# overconfident (clips at P ≥ 0.99 were 76–96% right on the simulated crowd of
# bench/adaptive.py); 0.5 keeps P ≥ τ clips about τ right.
RUN_DEFAULTS: dict[str, dict] = {"ds": {"smoothing": 0.5}}


def _quiet(_frac: float, _stage: str = "") -> None:
    pass


@dataclass
class Snapshot:
    tallies: dict[int, live.Tally]
    names: list[str]
    gold: dict[int, str]
    last_annotation: int


def read_snapshot(session: Session) -> Snapshot:
    names = live.expression_names(session)
    known = set(names)
    tallies: dict[int, live.Tally] = defaultdict(live.Tally)
    last = 0
    rows = session.exec(select(Annotation.id, Annotation.clip_id, Annotation.user_id, Annotation.expression,
                               Annotation.flags).order_by(Annotation.id)).all()
    for ann_id, clip_id, user_id, expression, flags in rows:
        last = max(last, ann_id)
        # An expression the taxonomy no longer has is no vote for any class.
        tallies[clip_id].add(user_id, expression if expression in known else None, flags)
    gold = {c: e for c, e in session.exec(select(GoldAnswer.clip_id, GoldAnswer.expression)).all() if e in known}
    return Snapshot(dict(tallies), names, gold, last)


def fit(snapshot: Snapshot, *, method: str, settings: dict | None = None):
    """The fitted aggregator, or Invalid when the votes cannot support one."""
    try:
        aggregator = get_aggregator(method, **(settings or {}))
        rows = [(str(c), w, e) for c, t in snapshot.tallies.items() for w, e in t.votes]
        if not rows:
            raise Invalid("No expression votes yet: a consensus run needs some.")
        votes = Votes.from_rows(rows, label_names=snapshot.names)
        gold = {str(c): e for c, e in snapshot.gold.items()}
        return aggregator.fit(votes, gold=gold), votes
    except AggregationError as exc:
        raise Invalid(f"Cannot run consensus: {exc}") from None


def _campaigns_of(session: Session, clip_ids: list[int]) -> dict[int, Campaign]:
    """Each clip's campaign for the policy settings: the newest whose pool holds it."""
    campaigns = {c.id: c for c in session.exec(select(Campaign)).all()}
    out: dict[int, Campaign] = {}
    for start in range(0, len(clip_ids), 500):
        chunk = clip_ids[start:start + 500]
        for clip_id, cid in session.exec(select(CampaignClip.clip_id, func.max(CampaignClip.campaign_id))
                                         .where(CampaignClip.clip_id.in_(chunk))
                                         .group_by(CampaignClip.clip_id)).all():
            if cid in campaigns:
                out[clip_id] = campaigns[cid]
    return out


def _newest_predictions(session: Session, clip_ids: list[int]) -> dict[int, dict]:
    out: dict[int, dict] = {}
    for start in range(0, len(clip_ids), 500):
        chunk = clip_ids[start:start + 500]
        for clip_id, probs in session.exec(select(Prediction.clip_id, Prediction.probs)
                                           .where(Prediction.clip_id.in_(chunk))
                                           .order_by(Prediction.created_at, Prediction.id)).all():
            out[clip_id] = probs  # ascending: the newest wins
    return out


def _newest_reviews(session: Session, clip_ids: list[int]) -> dict[int, Review]:
    out: dict[int, Review] = {}
    for start in range(0, len(clip_ids), 500):
        chunk = clip_ids[start:start + 500]
        for r in session.exec(select(Review).where(Review.clip_id.in_(chunk))
                              .order_by(Review.created_at, Review.id)).all():
            out[r.clip_id] = r
    return out


def _live_rows(session: Session, clip_ids: list[int]) -> dict[int, tuple[int, list[str]]]:
    out: dict[int, tuple[int, list[str]]] = {}
    for start in range(0, len(clip_ids), 500):
        chunk = clip_ids[start:start + 500]
        q = (select(ConsensusLabel.id, ConsensusLabel.clip_id, ConsensusLabel.flags)
             .where(ConsensusLabel.run_id.is_(None), ConsensusLabel.clip_id.in_(chunk)).order_by(ConsensusLabel.id))
        for row_id, clip_id, flags in session.exec(q).all():
            out.setdefault(clip_id, (row_id, list(flags or [])))
    return out


def _steer_pools(session: Session, verdicts: dict[int, live.Verdict], gold: dict[int, str]) -> None:
    """The pools follow the new verdicts: settled clips close everywhere,
    unsettled ones get one more vote once their planned votes are in (or go
    to review when they may get no more)."""
    settled = [c for c, v in verdicts.items() if v.status != LabelStatus.needs_votes and c not in gold]
    live.close_everywhere(session, settled)
    unsettled = [c for c, v in verdicts.items() if v.status == LabelStatus.needs_votes and c not in gold]
    campaigns = {c.id: c for c in session.exec(select(Campaign)).all()}
    for start in range(0, len(unsettled), 500):
        chunk = unsettled[start:start + 500]
        rows = session.exec(select(CampaignClip).where(
            CampaignClip.clip_id.in_(chunk), ~CampaignClip.is_gold,
            sa.or_(CampaignClip.closed, CampaignClip.done >= CampaignClip.wanted))).all()
        for cc in rows:
            if cc.done >= cc.wanted:
                if not pool.request_more_votes(session, campaign_id=cc.campaign_id, clip_id=cc.clip_id, votes=1):
                    verdicts[cc.clip_id].status = LabelStatus.review
            elif cc.campaign_id in campaigns:
                cc.closed = False
                cc.priority = pool.pool_priority(cc, overlap=campaigns[cc.campaign_id].overlap)
                session.add(cc)
    # Sent to review just now: deal them nowhere any more.
    live.close_everywhere(session, [c for c in unsettled if verdicts[c].status == LabelStatus.review])


def _row_values(clip_id: int, v: live.Verdict, now) -> dict:
    return {"clip_id": clip_id, "label": v.label, "confidence": v.confidence, "posterior": v.posterior,
            "status": v.status.value, "votes": v.votes, "flags": list(v.flags), "updated_at": now}


def run_consensus(session: Session, *, method: str = DEFAULT_METHOD, settings: dict | None = None,
                  progress: Progress | None = None) -> ConsensusRun:
    """A full recompute (see module docstring). Commits."""
    progress = progress or _quiet
    settings = {**RUN_DEFAULTS.get(method, {}), **(settings or {})}
    # The run's row is written at the end; it was created (began) now.
    began_at = utcnow()
    started = time.perf_counter()
    progress(0.02, "reading votes")
    snap = read_snapshot(session)
    session.commit()  # end the read transaction before the (long) fit
    progress(0.25, "fitting")
    fitted, votes = fit(snap, method=method, settings=settings)
    model_state = fitted.export_params()
    posteriors = {int(item): {n: round(float(p), 6) for n, p in zip(snap.names, row)}
                  for item, row in zip(fitted.item_names_, fitted.probas_.tolist())}
    fit_seconds = time.perf_counter() - started
    progress(0.6, "writing labels")

    clip_ids = sorted(snap.tallies)
    with write_transaction(session):
        campaigns = _campaigns_of(session, clip_ids)
        preds = _newest_predictions(session, clip_ids)
        reviews = _newest_reviews(session, clip_ids)
        existing = _live_rows(session, clip_ids)
        verdicts: dict[int, live.Verdict] = {}
        for clip_id in clip_ids:
            verdicts[clip_id] = live.judge(
                tally=snap.tallies[clip_id], posterior=posteriors.get(clip_id, {}),
                settings=live.policy_settings(campaigns.get(clip_id)), gold=snap.gold.get(clip_id),
                prediction=live.canonical(session, preds.get(clip_id)), review=reviews.get(clip_id),
                sticky=existing.get(clip_id, (None, []))[1])
        _steer_pools(session, verdicts, snap.gold)

        now = utcnow()
        session.execute(sa.update(ConsensusRun).where(ConsensusRun.is_current).values(is_current=False))
        run = ConsensusRun(method=fitted.name, model_state=model_state, status="done", items=len(clip_ids),
                           votes=votes.n_votes, is_current=True, created_at=began_at,
                           params={"settings": settings or {}, "gold": len(snap.gold), "workers": votes.n_workers,
                                   "annotations_upto": snap.last_annotation, "fit_seconds": round(fit_seconds, 3),
                                   "iterations": int(getattr(fitted, "n_iter_", 0) or 0)})
        session.add(run)
        session.flush()
        values = [_row_values(c, verdicts[c], now) for c in clip_ids]
        for start in range(0, len(values), 1000):
            session.execute(sa.insert(ConsensusLabel), [{**v, "run_id": run.id} for v in values[start:start + 1000]])
        updates = [{**values[i], "id": existing[c][0]} for i, c in enumerate(clip_ids) if c in existing]
        inserts = [{**values[i], "run_id": None} for i, c in enumerate(clip_ids) if c not in existing]
        for start in range(0, len(updates), 1000):
            session.execute(sa.update(ConsensusLabel), updates[start:start + 1000])
        for start in range(0, len(inserts), 1000):
            session.execute(sa.insert(ConsensusLabel), inserts[start:start + 1000])
        session.flush()
        # Votes that arrived while we fitted: their clips take the fast path again.
        late = session.exec(select(Annotation.clip_id, func.max(Annotation.campaign_id))
                            .where(Annotation.id > snap.last_annotation).group_by(Annotation.clip_id)).all()
        for clip_id, cid in late:
            live.refresh_clip(session, clip_id=clip_id, campaign=session.get(Campaign, cid))
        run.seconds = round(time.perf_counter() - started, 3)
        run.finished_at = utcnow()  # after the last write, so created_at ≤ finished_at
        session.add(run)
    progress(1.0, "done")
    return run


def run_job(params: dict, progress: Progress) -> dict:
    """The `consensus` job runner (workers/jobs.py RUNNERS)."""
    from app.core.db import session_scope

    with session_scope() as session:
        run = run_consensus(session, method=params.get("method") or DEFAULT_METHOD,
                            settings=params.get("settings"), progress=progress)
        # Job.result is a JSON column: datetimes as ISO strings.
        return json.loads(json.dumps(run_summary(session, run), default=lambda v: v.isoformat()))


# -- reading runs ------------------------------------------------------------------

def get_run(session: Session, run_id: int) -> ConsensusRun:
    run = session.get(ConsensusRun, run_id)
    if run is None:
        raise NotFound(f"Consensus run {run_id} does not exist.")
    return run


def list_runs(session: Session, *, limit: int = 50) -> list[ConsensusRun]:
    return list(session.exec(select(ConsensusRun).order_by(ConsensusRun.id.desc()).limit(limit)).all())


def run_counts(session: Session, run_id: int) -> dict[str, int]:
    counts = {s.value: 0 for s in LabelStatus}
    for status, n in session.exec(select(ConsensusLabel.status, func.count()).where(ConsensusLabel.run_id == run_id)
                                  .group_by(ConsensusLabel.status)).all():
        counts[LabelStatus(status).value] = int(n)
    return counts


def run_public(run: ConsensusRun) -> dict:
    return {"id": run.id, "method": run.method, "status": run.status, "is_current": run.is_current,
            "items": run.items, "votes": run.votes, "seconds": run.seconds, "params": run.params,
            "workers": len((run.model_state or {}).get("workers", {})), "error": run.error,
            "created_at": run.created_at, "finished_at": run.finished_at}


def run_summary(session: Session, run: ConsensusRun, *, with_model: bool = False) -> dict:
    out = run_public(run)
    out["counts"] = run_counts(session, run.id)
    if with_model:
        out["model_state"] = run.model_state
    return out


def _frozen(session: Session, run_id: int) -> dict[int, tuple[str | None, str]]:
    return {c: (label, LabelStatus(status).value) for c, label, status in session.exec(
        select(ConsensusLabel.clip_id, ConsensusLabel.label, ConsensusLabel.status)
        .where(ConsensusLabel.run_id == run_id)).all()}


def _agreement(labels: dict[int, tuple[str | None, str]], truth: dict[int, str]) -> dict:
    shared = [c for c in truth if c in labels]
    right = sum(labels[c][0] == truth[c] for c in shared)
    return {"n": len(shared), "agree": right, "accuracy": right / len(shared) if shared else None}


def compare_runs(session: Session, *, a: int, b: int, sample: int = 50) -> dict:
    """How two runs differ: labels and statuses of the clips both labelled,
    and each run's agreement with gold answers and with expert reviews.
    (Gold is clamped in every fit, so gold agreement measures only methods
    that do not clamp; reviews are the independent yardstick.)"""
    ra, rb = get_run(session, a), get_run(session, b)
    la, lb = _frozen(session, ra.id), _frozen(session, rb.id)
    common = sorted(set(la) & set(lb))
    differ = [c for c in common if la[c][0] != lb[c][0]]
    status_changed = sum(la[c][1] != lb[c][1] for c in common)
    gold = dict(session.exec(select(GoldAnswer.clip_id, GoldAnswer.expression)).all())
    reviewed = {r.clip_id: r.expression for r in _newest_reviews(session, common or [-1]).values()
                if r.expression and r.decision == "label"}
    return {"a": run_public(ra), "b": run_public(rb), "common": len(common), "labels_differ": len(differ),
            "status_changed": status_changed, "only_a": len(set(la) - set(lb)), "only_b": len(set(lb) - set(la)),
            "gold": {"a": _agreement(la, gold), "b": _agreement(lb, gold)},
            "review": {"a": _agreement(la, reviewed), "b": _agreement(lb, reviewed)},
            "examples": [{"clip_id": c, "a": la[c][0], "b": lb[c][0]} for c in differ[:sample]]}
