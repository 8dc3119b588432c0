"""Which clips a release (or the live dashboard) holds, and why the others
are left out. The order of trust is app/consensus/trusted.py's: the newest
expert review, then a trusted live consensus, then a label imported with the
clip; rejected and unsettled clips stay out and are counted."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, select

from app.clips.models import Clip
from app.consensus.models import ConsensusLabel, LabelStatus
from app.consensus.service import EXCLUDED, PASS
from app.labeling.models import Annotation
from app.review.models import Review, ReviewDecision
from app.taxonomy.service import scene_scenarios

COUNT_KEYS = ("clips", "included", "trusted", "reviewed", "imported", "rejected", "unsettled", "unlabelled",
              "below_min_posterior", "other_scenes")


@dataclass
class Candidate:
    clip_id: int
    key: str
    scene_id: int
    scene: str
    scenario: str
    expression: str
    posterior: float | None
    source: str  # consensus | review | import
    split: str | None
    review_id: int | None
    since: datetime | None  # when the label became what it is (the dashboard's timeline)


def select_clips(session: Session, *, min_posterior: float | None = None,
                 scenes: set[str] | None = None) -> tuple[list[Candidate], dict[str, int]]:
    names = scene_scenarios(session)
    counts: Counter = Counter({k: 0 for k in COUNT_KEYS})
    live = {cid: (label, conf, status, at) for cid, label, conf, status, at in session.exec(
        select(ConsensusLabel.clip_id, ConsensusLabel.label, ConsensusLabel.confidence, ConsensusLabel.status,
               ConsensusLabel.updated_at).where(ConsensusLabel.run_id.is_(None))).all()}
    reviews: dict[int, tuple] = {}
    for rid, cid, decision, expression, at in session.exec(
            select(Review.id, Review.clip_id, Review.decision, Review.expression, Review.created_at)
            .order_by(Review.created_at, Review.id)).all():
        reviews[cid] = (rid, decision, expression, at)  # the newest wins
    out: list[Candidate] = []
    for cid, key, scene_id, split, source_label, created in session.exec(
            select(Clip.id, Clip.key, Clip.scene_id, Clip.split, Clip.source_label, Clip.created_at)
            .order_by(Clip.id)).all():
        counts["clips"] += 1
        scene, scenario = names.get(scene_id, ("?", "?"))
        if scenes is not None and scene not in scenes:
            counts["other_scenes"] += 1
            continue
        label, conf, status, at = live.get(cid, (None, None, None, None))
        review = reviews.get(cid)
        pick = None
        if review is not None:
            rid, decision, expression, r_at = review
            if decision == ReviewDecision.reject or not expression:
                counts["rejected"] += 1
                continue
            pick = (expression, 1.0 if conf is None else float(conf), "review", rid, r_at)
        elif status == LabelStatus.trusted and label:
            if min_posterior is not None and float(conf) < min_posterior:
                counts["below_min_posterior"] += 1
                continue
            pick = (label, float(conf), "consensus", None, at)
        elif source_label:
            pick = (source_label, None, "import", None, created)
        elif status == LabelStatus.rejected:
            counts["rejected"] += 1
            continue
        elif status in (LabelStatus.needs_votes, LabelStatus.review):
            counts["unsettled"] += 1
            continue
        else:
            counts["unlabelled"] += 1
            continue
        expression, posterior, source, rid, since = pick
        counts[{"review": "reviewed", "consensus": "trusted", "import": "imported"}[source]] += 1
        out.append(Candidate(cid, key, scene_id, scene, scenario, expression, posterior, source,
                             split.value if hasattr(split, "value") else split, rid, since))
    counts["included"] = len(out)
    return out, dict(counts)


_A = Annotation.__table__.c


def _counted():
    """Votes the consensus counts: an expression, no pass, not excluded by a
    batch (app/consensus/service.py's Tally). The flags are a JSON list of
    words, so the test on its text is exact and spares decoding a million."""
    flags = sa.cast(_A.flags, sa.Text)
    return sa.and_(_A.expression.is_not(None), ~flags.like(f'%"{EXCLUDED}"%'), ~flags.like(f'%"{PASS}"%'))


@contextmanager
def read_connection(session: Session) -> Iterator[sa.Connection]:
    """A connection of its own for a long read. On SQLite it begins with a
    plain BEGIN (app/core/db.py), so reading a million votes does not hold
    the write lock that every labelling request needs."""
    with session.get_bind().connect() as conn:
        conn.info["sqlite_begin"] = "BEGIN"
        yield conn


def vote_stream(conn: sa.Connection, *, up_to: int | None = None):
    """(clip id, user id, expression, descriptor, assisted, duration_ms,
    created_at as ISO text, is_gold, gold_correct) of every counted vote in id
    order, fetched in batches so a million votes never sit in memory at once."""
    # created_at is read as the driver gives it: SQLite's stored text needs no
    # parsing; PostgreSQL's driver hands a datetime.
    q = sa.select(_A.clip_id, _A.user_id, _A.expression, _A.descriptor, _A.assisted, _A.duration_ms,
                  sa.type_coerce(_A.created_at, sa.String), _A.is_gold, _A.gold_correct).where(_counted())
    if up_to is not None:
        q = q.where(_A.id <= up_to)
    # On the statement, not the connection: a connection's options outlive it.
    result = conn.execute(q.order_by(_A.id).execution_options(yield_per=20_000))
    for row in result:
        at = row[6]
        if at is not None and not isinstance(at, str):
            yield (*row[:6], at.isoformat(), *row[7:])
        else:
            yield row


def vote_histograms(session: Session) -> dict[int, dict[str, int]]:
    """clip id → expression → counted votes, grouped by the database."""
    q = sa.select(_A.clip_id, _A.expression, sa.func.count()).where(_counted()).group_by(_A.clip_id, _A.expression)
    out: dict[int, dict[str, int]] = {}
    for cid, expression, n in session.execute(q):
        out.setdefault(cid, {})[expression] = int(n)
    return out
