"""The live dataset's figures (what a release made now would hold), for the
dashboard. Counting a million votes takes a while, so the figures are kept
per process and recomputed only when a marker of the data has moved (votes,
reviews, labels, clips) and the kept ones are at least MIN_AGE_S old; the
page says when they were computed."""
from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import datetime, timezone

from sqlmodel import Session, func, select

from app.benchmarks.service import column_order
from app.clips.models import Clip
from app.consensus.models import ConsensusLabel
from app.datasets import selection
from app.datasets.stats import StatRow, dataset_stats
from app.labeling.models import Annotation
from app.review.models import Review
from app.taxonomy.service import expression_names

MIN_AGE_S = 10.0
_cache: dict[str, tuple[tuple, float, dict]] = {}
_lock = threading.Lock()


def _marker(session: Session) -> tuple:
    # Index look-ups only for the big tables: max(id) of the votes catches a
    # new vote, and an undone vote moves its clip's live label (updated_at).
    # Counting a million votes on every page load cost most of the page.
    return (session.exec(select(func.max(Annotation.id))).one(),
            session.exec(select(func.max(Review.id))).one(),
            session.exec(select(func.max(ConsensusLabel.updated_at), func.count(ConsensusLabel.id))
                         .where(ConsensusLabel.run_id.is_(None))).one(),
            session.exec(select(func.max(Clip.id), func.count(Clip.id))).one(),
            session.exec(select(func.count()).select_from(Clip).where(Clip.split.is_not(None))).one())


def _timeline(picked: list[selection.Candidate]) -> list[dict]:
    """Trusted clips over time: cumulative count per day of the label's date."""
    days = Counter(c.since.date().isoformat() for c in picked if c.since is not None)
    total, out = 0, []
    for day in sorted(days):
        total += days[day]
        out.append({"day": day, "clips": total})
    return out


def compute(session: Session) -> dict:
    picked, counts = selection.select_clips(session)
    hist = selection.vote_histograms(session)
    rows = [StatRow(c.scenario, c.scene, c.expression, c.split, c.posterior, sum(hist.get(c.clip_id, {}).values()),
                    c.source, hist.get(c.clip_id, {})) for c in picked]
    stats = dataset_stats(rows, scenes=[(sc, s) for sc, ss in column_order(session) for s in ss],
                          expressions=expression_names(session))
    return {**stats, "counts": counts, "timeline": _timeline(picked),
            "computed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def live_stats(session: Session) -> dict:
    key = str(session.get_bind().url)
    with _lock:
        kept = _cache.get(key)
    now = time.monotonic()
    if kept is not None and now - kept[1] < MIN_AGE_S:  # young enough: no query at all
        return kept[2]
    marker = _marker(session)
    if kept is not None and kept[0] == marker:
        return kept[2]
    stats = compute(session)
    with _lock:
        _cache[key] = (marker, now, stats)
    return stats


def clear() -> None:
    with _lock:
        _cache.clear()


__all__ = ["live_stats", "compute", "clear", "MIN_AGE_S"]
