"""The live consensus: every vote updates its clip's label at once.

`on_annotation` runs inside the labelling transaction that stores the vote
(the pool row of the clip is locked there already). It recomputes only that
clip: one E-step over its few votes with the annotator parameters of the
current ConsensusRun (or a one-coin default before any run), then the policy
decides trusted / needs_votes / review / rejected and the pool follows
(more votes: adaptive overlap; settled: closed). A full recompute is in
runs.py; an expert Review always wins over both.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, func, select

from app.benchmarks.models import Prediction
from app.clips.models import Clip, GoldAnswer
from app.consensus.aggregators import AggregationError, ConsensusModel
from app.consensus.aggregators.base import one_coin_confusions
from app.consensus.models import ConsensusLabel, ConsensusRun, LabelStatus
from app.consensus.policy import ClipEvidence, Flag, PolicySettings, decide_clip, model_disagrees
from app.core.db import utcnow
from app.core.errors import NotFound
from app.labeling import pool
from app.labeling.models import Annotation, Campaign, CampaignClip, CampaignMember, CampaignSettings
from app.labeling.taxonomy_cache import expressions
from app.labeling.txn import write_transaction
from app.review.models import Review, ReviewDecision

PASS = "pass"
NOT_FACE_FLAGS = ("not_a_face", "bad_clip")  # votes that the clip is unusable
# Set on an Annotation by a discarded batch (FERV39k rule): kept, never counted.
EXCLUDED = "excluded"
# Set on a live label by a batch sent to expert review: status stays review
# until a reviewer decides, whatever later votes say.
BATCH_REVIEW = "batch_review"
STICKY_FLAGS = (BATCH_REVIEW,)
# Before the first full run: every annotator right this often (unless the
# campaign's gold record says otherwise).
DEFAULT_SKILL = 0.7
MIN_GOLD_FOR_SKILL = 10
MODEL_CONFIDENCE = 0.8


# -- votes of one clip -------------------------------------------------------------

@dataclass
class Tally:
    """One clip's responses, split the way the policy counts them."""

    votes: list[tuple[str, str]] = field(default_factory=list)  # (worker, expression)
    histogram: dict[str, int] = field(default_factory=dict)
    passes: int = 0
    not_face: int = 0  # unusable: not a face or bad clip, as the policy counts them
    bad_clip: int = 0  # of which "bad clip", for pages that show the two apart

    def add(self, user_id: int, expression: str | None, flags: Iterable[str] | None) -> None:
        flags = list(flags or ())
        if EXCLUDED in flags:
            return
        if PASS in flags:
            self.passes += 1
        elif expression:
            self.votes.append((str(user_id), expression))
            self.histogram[expression] = self.histogram.get(expression, 0) + 1
        elif any(f in flags for f in NOT_FACE_FLAGS):
            self.not_face += 1
            self.bad_clip += "not_a_face" not in flags

    @property
    def responses(self) -> int:
        return len(self.votes) + self.passes + self.not_face


_AN = Annotation.__table__
_TALLY = (sa.select(_AN.c.user_id, _AN.c.expression, _AN.c.flags).where(_AN.c.clip_id == sa.bindparam("clip"))
          .order_by(_AN.c.id))


def tally_clip(session: Session, clip_id: int) -> Tally:
    t = Tally()
    session.flush()  # a plain statement does not autoflush: see pending votes and deletions
    for user_id, expression, flags in session.connection().execute(_TALLY, {"clip": clip_id}):
        t.add(user_id, expression, flags)
    return t


def tallies(session: Session, clip_ids: Iterable[int]) -> dict[int, Tally]:
    ids = list(set(clip_ids))
    out: dict[int, Tally] = {i: Tally() for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for clip_id, user_id, expression, flags in session.exec(
                select(Annotation.clip_id, Annotation.user_id, Annotation.expression, Annotation.flags)
                .where(Annotation.clip_id.in_(chunk)).order_by(Annotation.id)).all():
            out[clip_id].add(user_id, expression, flags)
    return out


# -- the annotator model ------------------------------------------------------------

_models: dict[tuple, ConsensusModel] = {}
_models_lock = threading.Lock()


def expression_names(session: Session) -> list[str]:
    return [name for name, _ in expressions(session)]


def canonical(session: Session, probs: Mapping[str, float] | None) -> dict[str, float] | None:
    """A model's probabilities keyed by the taxonomy's spelling (models write
    'Happy' or 'happy'); unknown names dropped."""
    if not probs:
        return None
    names = {n.lower(): n for n in expression_names(session)}
    out = {names[k.lower()]: float(v) for k, v in probs.items() if k.lower() in names}
    return out or None


@lru_cache(maxsize=512)
def _default_model(names: tuple[str, ...], skill: float) -> ConsensusModel:
    k = len(names)
    skill = float(np.clip(skill, 1.0 / k + 0.01, 0.99))
    return ConsensusModel(method="default", label_names=tuple(names), worker_names=(), priors=np.full(k, 1.0 / k),
                          confusions=np.zeros((0, k, k)), default=one_coin_confusions(np.array([skill]), k)[0],
                          skills=np.zeros(0))


def default_model(names: list[str], skill: float) -> ConsensusModel:
    """Symmetric one-coin annotators of accuracy `skill`, uniform classes
    (built once per names and skill: models are read-only)."""
    return _default_model(tuple(names), float(skill))


def _gold_record(campaign_id):
    m = CampaignMember.__table__.c
    return sa.select(sa.func.coalesce(sa.func.sum(m.gold_answered), 0), sa.func.coalesce(sa.func.sum(m.gold_correct), 0)
                     ).where(m.campaign_id == campaign_id)


_GOLD_RECORD = _gold_record(sa.bindparam("campaign"))


def skill_of(answered: int, correct: int) -> float:
    """The crowd's accuracy on gold, or DEFAULT_SKILL on too little gold."""
    if int(answered) < MIN_GOLD_FOR_SKILL:
        return DEFAULT_SKILL
    return int(correct) / int(answered)


def crowd_skill(session: Session, campaign_id: int | None) -> float:
    """The crowd's accuracy on gold in this campaign, or DEFAULT_SKILL."""
    if campaign_id is None:
        return DEFAULT_SKILL
    return skill_of(*session.connection().execute(_GOLD_RECORD, {"campaign": campaign_id}).one())


def current_run_key(session: Session) -> tuple[int, object] | None:
    row = session.exec(select(ConsensusRun.id, ConsensusRun.created_at)
                       .where(ConsensusRun.is_current, ConsensusRun.status == "done")
                       .order_by(ConsensusRun.id.desc()).limit(1)).first()
    return None if row is None else (row[0], row[1])


_NO_KEY = object()
_UNUSABLE: Any = object()


def current_model(session: Session, *, campaign_id: int | None = None, run_key=_NO_KEY,
                  skill: float | None = None) -> ConsensusModel:
    """The fitted annotator model of the current run (parsed once per process
    and run), or the one-coin default when there is none or it is unusable.
    `run_key`: (id, created_at) of the current run, and `skill`: the crowd's
    accuracy on gold, when the caller knows them."""
    names = expression_names(session)
    key = current_run_key(session) if run_key is _NO_KEY else run_key
    if key is not None:
        # created_at too: ids restart when a database is emptied (tests).
        cache_key = (str(session.get_bind().url), key[0], str(key[1]))
        model = _models.get(cache_key)
        if model is None:
            state = session.exec(select(ConsensusRun.model_state).where(ConsensusRun.id == key[0])).one()
            try:
                model = ConsensusModel.from_params(state or {})
            except AggregationError:
                model = _UNUSABLE  # remembered too: not parsed again on every vote
            with _models_lock:
                if len(_models) > 16:
                    _models.clear()
                _models[cache_key] = model
        if model is not _UNUSABLE and list(model.label_names) == names:
            return model
    return default_model(names, crowd_skill(session, campaign_id) if skill is None else skill)


def policy_settings(campaign: CampaignSettings | None) -> PolicySettings:
    c = campaign or CampaignSettings()
    # The campaign form allows max_overlap < min_votes; the policy does not.
    return PolicySettings(tau=c.trust_threshold, min_votes=c.min_votes, max_overlap=max(c.max_overlap, c.min_votes),
                          model_confidence=MODEL_CONFIDENCE)


# -- deciding one clip --------------------------------------------------------------

@dataclass
class Verdict:
    label: str | None
    confidence: float
    posterior: dict[str, float]
    status: LabelStatus
    votes: int
    flags: list[str]


def posterior_of(model: ConsensusModel, tally: Tally) -> dict[str, float]:
    known = set(model.label_names)
    # A vote for an expression renamed or removed since counts for no class.
    votes = [(w, e) for w, e in tally.votes if e in known]
    if not votes:
        return {}
    post = model.posterior(votes)
    return {k: round(float(v), 6) for k, v in post.items()}


def judge(*, tally: Tally, posterior: Mapping[str, float], settings: PolicySettings, gold: str | None,
          prediction: Mapping[str, float] | None, review: Review | ReviewWord | None,
          sticky: Iterable[str] = ()) -> Verdict:
    """The live verdict for a clip: a review wins, then gold, then the policy."""
    if gold is not None:
        verdict = Verdict(gold, 1.0, {gold: 1.0}, LabelStatus.trusted, tally.responses, [])
    else:
        d = decide_clip(ClipEvidence(posterior=posterior, votes=tally.histogram, pass_votes=tally.passes,
                                     not_face_votes=tally.not_face, model=prediction), settings)
        flags = sorted(f.value for f in d.flags) + [f for f in STICKY_FLAGS if f in set(sticky)]
        status = LabelStatus(d.status.value)
        if BATCH_REVIEW in flags and status != LabelStatus.rejected:
            status = LabelStatus.review
        verdict = Verdict(d.label, round(float(d.confidence), 6), dict(posterior), status, tally.responses, flags)
    if review is not None:
        if review.decision == ReviewDecision.reject:
            verdict.status, verdict.label, verdict.confidence = LabelStatus.rejected, None, 1.0
        else:
            verdict.status, verdict.label, verdict.confidence = LabelStatus.trusted, review.expression, 1.0
    return verdict


def latest_review(session: Session, clip_id: int) -> Review | None:
    return session.exec(select(Review).where(Review.clip_id == clip_id)
                        .order_by(Review.created_at.desc(), Review.id.desc()).limit(1)).first()


def latest_prediction(session: Session, clip_id: int) -> Prediction | None:
    return session.exec(select(Prediction).where(Prediction.clip_id == clip_id)
                        .order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(1)).first()


def gold_of(session: Session, clip_id: int) -> str | None:
    return session.exec(select(GoldAnswer.expression).where(GoldAnswer.clip_id == clip_id)).first()


def live_label(session: Session, clip_id: int, *, for_update: bool = False) -> ConsensusLabel | None:
    q = select(ConsensusLabel).where(ConsensusLabel.run_id.is_(None), ConsensusLabel.clip_id == clip_id)
    if for_update:
        q = q.with_for_update()
    rows = session.exec(q.order_by(ConsensusLabel.id)).all()
    for extra in rows[1:]:  # two first votes at once in two campaigns: keep one
        session.delete(extra)
    return rows[0] if rows else None


_L = ConsensusLabel.__table__
_LIVE_ROWS = (sa.select(_L.c.id, _L.c.flags).where(_L.c.run_id.is_(None), _L.c.clip_id == sa.bindparam("clip"))
              .order_by(_L.c.id).with_for_update())
_LIVE_VALUES = dict(label=sa.bindparam("label"), confidence=sa.bindparam("confidence"),
                    posterior=sa.bindparam("posterior", type_=sa.JSON), status=sa.bindparam("status"),
                    votes=sa.bindparam("votes"), flags=sa.bindparam("flags", type_=sa.JSON),
                    updated_at=sa.bindparam("updated_at", type_=_L.c.updated_at.type))
_UPDATE_LIVE = sa.update(_L).where(_L.c.id == sa.bindparam("row_id")).values(**_LIVE_VALUES)
_INSERT_LIVE = sa.insert(_L).values(run_id=None, clip_id=sa.bindparam("clip"), **_LIVE_VALUES)
_DELETE_LIVE = sa.delete(_L).where(_L.c.id.in_(sa.bindparam("ids", expanding=True)))


def write_live(session: Session, clip_id: int, verdict: Verdict, row_id: int | None = None) -> Verdict:
    """Store the verdict as the clip's live label (row `row_id`, or a new one)."""
    values = {"label": verdict.label, "confidence": verdict.confidence, "posterior": verdict.posterior,
              "status": LabelStatus(verdict.status).value, "votes": verdict.votes, "flags": list(verdict.flags),
              "updated_at": utcnow()}
    conn = session.connection()
    if row_id is None:
        conn.execute(_INSERT_LIVE, {"clip": clip_id, **values})
    else:
        conn.execute(_UPDATE_LIVE, {"row_id": row_id, **values})
    return verdict


def steer_pool(session: Session, *, campaign, clip_id: int, verdict: Verdict) -> None:
    """Adaptive overlap: one more vote at a time, asked only once every vote
    planned so far is in (a lease in flight will bring its own vote, and this
    runs again then); settled clips close. A clip that needs a vote it cannot
    get (max_overlap reached, or it has votes, no lease in flight and nobody
    left who may still label it: pool.voters_left) goes to an expert at
    once. `campaign`: its id, overlap and max_overlap."""
    cc = pool.pool_row(session, campaign_id=campaign.id, clip_id=clip_id)
    if cc is None or cc.is_gold:
        return
    if verdict.status == LabelStatus.needs_votes:
        # (A clip nobody has voted on yet waits for people instead: an expert
        # would start from nothing.)
        if cc.done > 0 and cc.active == 0 and not cc.voters_left:
            verdict.status = LabelStatus.review
            if not cc.closed:
                pool.close_clip(session, campaign_id=campaign.id, clip_id=clip_id)
        elif cc.done >= cc.wanted:
            if not pool.request_more_votes(session, campaign_id=campaign.id, clip_id=clip_id, votes=1,
                                           campaign=campaign, row=cc):
                verdict.status = LabelStatus.review
                pool.close_clip(session, campaign_id=campaign.id, clip_id=clip_id)
        elif cc.closed:
            # Settled before, unsettled by a retracted vote: deal the planned
            # votes that are missing again (no extra one).
            pool.reopen(session, row=cc, overlap=campaign.overlap)
    elif not cc.closed:
        pool.close_clip(session, campaign_id=campaign.id, clip_id=clip_id)


class ReviewWord(NamedTuple):
    decision: str
    expression: str | None


def _context_stmt():
    """Everything about a clip besides its votes, in one round trip: gold
    answer, newest prediction, newest review, the current run, and the
    campaign's gold record (for the crowd's skill)."""
    clip = sa.bindparam("clip")
    newest_review = (select(Review.decision, Review.expression).where(Review.clip_id == clip)
                     .order_by(Review.created_at.desc(), Review.id.desc()).limit(1).subquery())
    current = (select(ConsensusRun.id, ConsensusRun.created_at)
               .where(ConsensusRun.is_current, ConsensusRun.status == "done")
               .order_by(ConsensusRun.id.desc()).limit(1).subquery())
    record = _gold_record(sa.bindparam("campaign")).subquery()
    return select(
        select(GoldAnswer.expression).where(GoldAnswer.clip_id == clip).scalar_subquery(),
        select(Prediction.probs).where(Prediction.clip_id == clip)
        .order_by(Prediction.created_at.desc(), Prediction.id.desc()).limit(1).scalar_subquery(),
        select(newest_review.c.decision).scalar_subquery(), select(newest_review.c.expression).scalar_subquery(),
        select(current.c.id).scalar_subquery(), select(current.c.created_at).scalar_subquery(),
        select(record.c[0]).scalar_subquery(), select(record.c[1]).scalar_subquery(),
    )


_CONTEXT = _context_stmt()


def refresh_clip(session: Session, *, clip_id: int, campaign) -> Verdict:
    """Recompute one clip's live label from its votes and steer its pool row
    in `campaign` (the Campaign, or any row with its columns). Does not
    commit. Plain statements throughout: this runs on every vote."""
    conn = session.connection()
    rows = conn.execute(_LIVE_ROWS, {"clip": clip_id}).all()  # locked first: one writer per clip
    if len(rows) > 1:  # two first votes at once in two campaigns: keep one
        conn.execute(_DELETE_LIVE, {"ids": [r.id for r in rows[1:]]})
    row = rows[0] if rows else None
    tally = tally_clip(session, clip_id)
    gold, probs, r_decision, r_expression, run_id, run_at, answered, correct = conn.execute(
        _CONTEXT, {"clip": clip_id, "campaign": campaign.id if campaign is not None else -1}).one()
    review = ReviewWord(r_decision, r_expression) if r_decision is not None else None
    posterior = {} if gold is not None else posterior_of(
        current_model(session, run_key=(run_id, run_at) if run_id is not None else None,
                      skill=skill_of(answered, correct) if campaign is not None else DEFAULT_SKILL), tally)
    verdict = judge(tally=tally, posterior=posterior, settings=policy_settings(campaign), gold=gold,
                    prediction=canonical(session, probs), review=review,
                    sticky=(row.flags or ()) if row is not None else ())
    if gold is None and campaign is not None:
        steer_pool(session, campaign=campaign, clip_id=clip_id, verdict=verdict)
    return write_live(session, clip_id, verdict, row.id if row is not None else None)


# -- hooks the labelling side and the DFER workers call ---------------------------------

def on_annotation(session: Session, *, annotation: Annotation, campaign: Campaign) -> Verdict:
    """A vote was stored (flushed, same transaction): update its clip now."""
    return refresh_clip(session, clip_id=annotation.clip_id, campaign=campaign)


def on_retract(session: Session, *, clip_id: int, campaign: Campaign) -> Verdict:
    """A vote of this clip was retracted (deleted or marked excluded)."""
    return refresh_clip(session, clip_id=clip_id, campaign=campaign)


def on_annotation_undone(session: Session, *, annotation: Annotation, campaign: Campaign) -> Verdict:
    """The labelling side's undo hook (called after the row is deleted)."""
    return on_retract(session, clip_id=annotation.clip_id, campaign=campaign)


REDECIDE_BATCH = 200


def redecide_campaign(session: Session, *, campaign_id: int, waiting_only: bool = False,
                      clip_ids: Iterable[int] | None = None) -> int:
    """Decide open, started clips of a campaign again (all of them, or
    `clip_ids`): after its settings changed (all), someone left it (paused,
    deactivated: `waiting_only`, the clips that wait for votes with no lease
    in flight), or leases lapsed (those clips). A clip that needs votes
    nobody may still give goes to review here. Commits, in batches of
    REDECIDE_BATCH clips; returns how many clips changed status."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        return 0
    cc, L = CampaignClip, ConsensusLabel
    q = select(cc.clip_id).where(cc.campaign_id == campaign_id, ~cc.is_gold, ~cc.closed, cc.done > 0)
    if waiting_only:
        q = q.where(cc.active == 0, cc.clip_id.in_(select(L.clip_id).where(
            L.run_id.is_(None), L.status == LabelStatus.needs_votes.value)))
    if clip_ids is not None:
        q = q.where(cc.clip_id.in_(sorted(set(clip_ids))))
    ids = list(session.exec(q.order_by(cc.clip_id)).all())
    changed = 0
    for start in range(0, len(ids), REDECIDE_BATCH):
        chunk = ids[start:start + REDECIDE_BATCH]
        with write_transaction(session):
            # Pool rows first, then live labels: the order a vote takes them in.
            session.execute(select(cc.id).where(cc.campaign_id == campaign_id, cc.clip_id.in_(chunk))
                            .order_by(cc.clip_id).with_for_update())
            before = {c: LabelStatus(s).value for c, s in session.exec(select(L.clip_id, L.status).where(
                L.run_id.is_(None), L.clip_id.in_(chunk))).all()}
            for clip_id in chunk:
                verdict = refresh_clip(session, clip_id=clip_id, campaign=campaign)
                changed += LabelStatus(verdict.status).value != before.get(clip_id)
    return changed


def redecide_for_user(session: Session, *, user_id: int) -> int:
    """Someone can no longer label (paused or deactivated): the clips that
    waited for them, in every campaign that is not closed (an annotator
    counts as a possible voter even where they have not started yet)."""
    campaigns = session.exec(select(Campaign.id).where(Campaign.status != "closed").order_by(Campaign.id)).all()
    return sum(redecide_campaign(session, campaign_id=c, waiting_only=True) for c in campaigns)


def on_predictions(session: Session, rows: Iterable[Prediction]) -> int:
    """New model predictions: re-check the model_disagrees flag of those
    clips' live labels (status unchanged; flagged clips show in the review
    queue). Returns how many labels changed."""
    newest: dict[int, Prediction] = {}
    for p in rows:
        cur = newest.get(p.clip_id)
        if cur is None or (p.created_at, p.id or 0) >= (cur.created_at, cur.id or 0):
            newest[p.clip_id] = p
    if not newest:
        return 0
    gold = set(session.exec(select(GoldAnswer.clip_id).where(GoldAnswer.clip_id.in_(list(newest)))).all())
    changed = 0
    for row in session.exec(select(ConsensusLabel).where(ConsensusLabel.run_id.is_(None),
                                                         ConsensusLabel.clip_id.in_(list(newest)))).all():
        if row.clip_id in gold:
            continue
        flags = [f for f in (row.flags or []) if f != Flag.MODEL_DISAGREES.value]
        if model_disagrees(row.label, canonical(session, newest[row.clip_id].probs), MODEL_CONFIDENCE):
            flags.append(Flag.MODEL_DISAGREES.value)
        if sorted(flags) != sorted(row.flags or []):
            row.flags = sorted(flags)
            session.add(row)
            changed += 1
    return changed


# -- reading -------------------------------------------------------------------------

def clip_consensus(session: Session, *, clip_id: int) -> dict:
    """The live consensus of one clip, as the API shows it."""
    if session.get(Clip, clip_id) is None:
        raise NotFound(f"Clip {clip_id} does not exist.")
    row = live_label(session, clip_id)
    tally = tally_clip(session, clip_id)
    review = latest_review(session, clip_id)
    out = {"clip_id": clip_id, "label": None, "confidence": 0.0, "posterior": {},
           "status": LabelStatus.needs_votes.value,
           "votes": tally.responses, "histogram": tally.histogram, "passes": tally.passes, "not_a_face": tally.not_face,
           "flags": [], "gold": gold_of(session, clip_id), "review": None, "updated_at": None}
    if row is not None:
        out.update(label=row.label, confidence=row.confidence, posterior=row.posterior or {},
                   status=LabelStatus(row.status).value, flags=list(row.flags or []), updated_at=row.updated_at)
    if review is not None:  # the expert's word, even if the live row lags
        out["review"] = {"decision": ReviewDecision(review.decision).value, "expression": review.expression,
                         "reason": review.reason, "reviewer_id": review.reviewer_id, "created_at": review.created_at}
        if review.decision == ReviewDecision.reject:
            out.update(status=LabelStatus.rejected.value, label=None)
        else:
            out.update(status=LabelStatus.trusted.value, label=review.expression)
    return out


def status_counts(session: Session, *, campaign_id: int | None = None) -> dict[str, int]:
    """Live labels by status (clips of one campaign's pool when given)."""
    q = select(ConsensusLabel.status, func.count()).where(ConsensusLabel.run_id.is_(None))
    if campaign_id is not None:
        q = q.where(ConsensusLabel.clip_id.in_(
            select(CampaignClip.clip_id).where(CampaignClip.campaign_id == campaign_id)))
    counts = {s.value: 0 for s in LabelStatus}
    for status, n in session.exec(q.group_by(ConsensusLabel.status)).all():
        counts[LabelStatus(status).value] = int(n)
    return counts


def close_everywhere(session: Session, clip_ids: Iterable[int]) -> None:
    """close_clip in every campaign pool of these clips (gold clips excepted:
    they keep measuring annotators), as one statement per 500 clips."""
    ids = sorted(set(clip_ids))
    for start in range(0, len(ids), 500):
        session.execute(sa.update(CampaignClip).where(
            CampaignClip.clip_id.in_(ids[start:start + 500]), ~CampaignClip.is_gold, ~CampaignClip.closed,
        ).values(closed=True, priority=pool.FULL))


def apply_review(session: Session, *, review: Review) -> ConsensusLabel:
    """An expert decided: the live label follows and the clip is dealt no more."""
    row = live_label(session, review.clip_id, for_update=True)
    if row is None:
        row = ConsensusLabel(run_id=None, clip_id=review.clip_id, votes=tally_clip(session, review.clip_id).responses)
    if review.decision == ReviewDecision.reject:
        row.status, row.label = LabelStatus.rejected, None
    else:
        row.status, row.label = LabelStatus.trusted, review.expression
    row.confidence = 1.0
    row.flags = [f for f in (row.flags or []) if f not in STICKY_FLAGS]
    row.updated_at = utcnow()
    session.add(row)
    close_everywhere(session, [review.clip_id])
    return row
