"""The live dataset's figures (what a release made now would hold), for the
dashboard.

Counting a million votes takes seconds (3.5 s at FERV39k's 1.17M votes), and
during a campaign the votes move all the time, so the figures are kept and
served stale-while-revalidate:

- kept figures are checked against a cheap marker of the data (index
  look-ups), on a big instance at most once per MIN_AGE_S (a release made in
  this process asks for the check at once: its splits are part of the figures);
  when it moved, a figure set that was quick to compute (under SYNC_BELOW_S,
  a small instance) is recomputed in the request, a slow one is served as it
  is, marked `refreshing`, while one background thread per process computes
  the new figures on a read-only connection of its own;
- the last figures are also written to `VAR_DIR/cache/` (atomically), so a
  restarted process serves them at once instead of counting again.

The page says when its figures were computed."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlmodel import Session, func, select

from app.benchmarks.service import column_order
from app.clips.models import Clip
from app.consensus.models import ConsensusLabel
from app.core.config import get_settings
from app.core.db import read_session
from app.datasets import selection
from app.datasets.stats import StatRow, dataset_stats
from app.labeling.models import Annotation
from app.review.models import Review
from app.taxonomy.service import expression_names

log = logging.getLogger(__name__)

MIN_AGE_S = 10.0
SYNC_BELOW_S = 0.5


@dataclass
class _Kept:
    marker: str
    checked: float  # time.monotonic() of the last look at the marker
    stats: dict
    cost_s: float  # how long computing them took


_cache: dict[str, _Kept] = {}
_running: set[str] = set()
_lock = threading.Lock()


def _marker(session: Session) -> str:
    # Index look-ups only for the big tables: max(id) of the votes catches a
    # new vote, and an undone vote moves its clip's live label (updated_at).
    # Counting a million votes on every page load cost most of the page.
    return repr((session.exec(select(func.max(Annotation.id))).one(),
                 session.exec(select(func.max(Review.id))).one(),
                 tuple(session.exec(select(func.max(ConsensusLabel.updated_at), func.count(ConsensusLabel.id))
                                    .where(ConsensusLabel.run_id.is_(None))).one()),
                 tuple(session.exec(select(func.max(Clip.id), func.count(Clip.id), func.max(Clip.created_at))).one()),
                 session.exec(select(func.count()).select_from(Clip).where(Clip.split.is_not(None))).one()))


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


def _saved_path(key: str) -> Path:
    return get_settings().var_dir / "cache" / f"live-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _save(key: str, kept: _Kept) -> None:
    path = _saved_path(key)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps({"marker": kept.marker, "cost_s": kept.cost_s, "stats": kept.stats}))
        os.replace(tmp, path)  # readers see the old file or the new one, never half of one
    except (OSError, TypeError, ValueError) as exc:  # a cache: the page works without it
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        log.warning("could not keep the dataset figures in %s: %s", path, exc)


def _load(key: str) -> _Kept | None:
    try:
        data = json.loads(_saved_path(key).read_text())
        return _Kept(str(data["marker"]), 0.0, dict(data["stats"]), float(data["cost_s"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _compute_kept(session: Session) -> _Kept:
    t0 = time.perf_counter()
    marker = _marker(session)  # before the figures: a change made meanwhile shows at the next look
    stats = compute(session)
    return _Kept(marker, time.monotonic(), stats, time.perf_counter() - t0)


def _store(key: str, kept: _Kept) -> None:
    with _lock:
        _cache[key] = kept
    _save(key, kept)


def _refresh(key: str) -> None:
    try:
        with read_session() as session:  # a snapshot read: no SQLite write lock for seconds
            kept = _compute_kept(session)
        _store(key, kept)
    except Exception:  # noqa: BLE001 - a thread of its own: log it, the kept figures stay
        log.exception("computing the dataset figures failed")
    finally:
        with _lock:
            _running.discard(key)


def _start_refresh(key: str) -> None:
    with _lock:
        if key in _running:  # one at a time per process
            return
        _running.add(key)
    threading.Thread(target=_refresh, args=(key,), name="dataset-figures", daemon=True).start()


def live_stats(session: Session) -> dict:
    key = str(session.get_bind().url)
    with _lock:
        kept = _cache.get(key)
    if kept is None:
        kept = _load(key)
        if kept is not None:
            with _lock:
                _cache.setdefault(key, kept)
    now = time.monotonic()
    if kept is None:  # nothing kept anywhere: the first look ever
        kept = _compute_kept(session)
        _store(key, kept)
        return kept.stats
    if kept.cost_s >= SYNC_BELOW_S and now - kept.checked < MIN_AGE_S:  # big and young: no query at all
        return kept.stats
    marker = _marker(session)
    kept.checked = now
    if marker == kept.marker:
        return kept.stats
    if kept.cost_s < SYNC_BELOW_S:  # cheap: the request gets the newest figures
        kept = _compute_kept(session)
        _store(key, kept)
        return kept.stats
    _start_refresh(key)
    return {**kept.stats, "refreshing": True}


def invalidate() -> None:
    """Look at the marker on the next request (after a write that moved the
    figures, such as a release placing splits)."""
    with _lock:
        for kept in _cache.values():
            kept.checked = 0.0


def wait_for_refresh(timeout: float = 60.0) -> None:
    """Until no background computation runs (tests, benchmarks)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with _lock:
            if not _running:
                return
        time.sleep(0.01)
    raise TimeoutError("the dataset figures are still being computed")


def clear() -> None:
    """Forget the kept figures, in this process and on disk."""
    with _lock:
        _cache.clear()
    for path in (get_settings().var_dir / "cache").glob("live-*.json"):
        path.unlink(missing_ok=True)


__all__ = ["live_stats", "compute", "clear", "invalidate", "wait_for_refresh", "MIN_AGE_S", "SYNC_BELOW_S"]
