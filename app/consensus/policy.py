"""What to do with a clip, and with a batch of votes: pure decisions, no I/O.

Clip rule (per clip, after every vote):

1. PASS is an abstention: it uses one of the clip's annotator slots but is not
   an expression vote. "Not a face" votes are rated but not expressions.
2. ``rejected`` when not-a-face votes are at least ``reject_share`` of the
   rated votes (expressions + not-a-face), once there are ``min_votes`` rated.
3. ``trusted`` when the top posterior is at least ``tau`` with at least
   ``min_votes`` expression votes.
4. else ``needs_votes`` while the clip has had fewer than ``max_overlap``
   responses (all kinds), else ``review`` by an expert.

Flags (independent of the status, for reviewers): ``high_entropy`` when the
expression votes are spread out, ``model_disagrees`` when a DFER model is
confident (≥ ``model_confidence``) in a different expression.

Batch rule (the FERV39k protocol, Wang et al. 2022): an annotator's batch is judged by
its gold clips: accuracy ≥ 80% accept, 40–80% expert review, < 40% discard the
batch's votes and deal its clips again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = [
    "PolicyError",
    "ClipStatus",
    "Flag",
    "PolicySettings",
    "ClipEvidence",
    "ClipDecision",
    "decide_clip",
    "vote_entropy",
    "model_disagrees",
    "BatchAction",
    "BatchDecision",
    "decide_batch",
]


class PolicyError(ValueError):
    """Inconsistent input to a policy decision."""


class ClipStatus(StrEnum):
    TRUSTED = "trusted"
    NEEDS_VOTES = "needs_votes"
    REVIEW = "review"
    REJECTED = "rejected"


class Flag(StrEnum):
    HIGH_ENTROPY = "high_entropy"
    MODEL_DISAGREES = "model_disagrees"


@dataclass(frozen=True)
class PolicySettings:
    tau: float = 0.9  # posterior needed to trust a label
    min_votes: int = 3  # expression votes needed to trust (and rated votes to reject)
    max_overlap: int = 5  # responses a clip may collect before an expert decides
    reject_share: float = 0.5  # not-a-face share of rated votes that rejects a clip
    entropy_threshold: float = 0.5  # vote entropy / log(n labels) that raises a flag
    model_confidence: float = 0.8  # model probability that makes a disagreement count

    def __post_init__(self) -> None:
        for name in ("tau", "reject_share", "entropy_threshold", "model_confidence"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise PolicyError(f"{name} must lie in [0, 1], got {value}")
        if self.min_votes < 1:
            raise PolicyError(f"min_votes must be at least 1, got {self.min_votes}")
        if self.max_overlap < self.min_votes:
            raise PolicyError(
                f"max_overlap ({self.max_overlap}) is below min_votes ({self.min_votes}): "
                "no clip could ever be trusted"
            )


@dataclass(frozen=True)
class ClipEvidence:
    """Everything known about one clip.

    ``posterior`` maps expression -> probability (from an aggregator; may be
    empty before any expression vote), ``votes`` maps expression -> number of
    votes, ``model`` maps expression -> a DFER model's probability (optional).
    """

    posterior: Mapping[str, float]
    votes: Mapping[str, int]
    pass_votes: int = 0
    not_face_votes: int = 0
    model: Mapping[str, float] | None = None

    def __post_init__(self) -> None:
        if any(p < 0 or p > 1 + 1e-9 or math.isnan(p) for p in self.posterior.values()):
            raise PolicyError(f"posterior values must lie in [0, 1]: {dict(self.posterior)}")
        if any(int(n) != n or n < 0 for n in self.votes.values()):
            raise PolicyError(f"vote counts must be non-negative integers: {dict(self.votes)}")
        if self.pass_votes < 0 or self.not_face_votes < 0:
            raise PolicyError("pass_votes and not_face_votes must be non-negative")

    @property
    def expression_votes(self) -> int:
        return int(sum(self.votes.values()))

    @property
    def responses(self) -> int:
        return self.expression_votes + self.pass_votes + self.not_face_votes


@dataclass(frozen=True)
class ClipDecision:
    status: ClipStatus
    label: str | None  # consensus expression (None if rejected or no expression vote)
    confidence: float  # its posterior (for rejected: the not-a-face share)
    expression_votes: int
    flags: frozenset[Flag] = field(default_factory=frozenset)
    reason: str = ""


def _top(distribution: Mapping[str, float], votes: Mapping[str, int]) -> tuple[str, float] | None:
    """Highest probability; ties to more votes, then alphabetical (deterministic)."""
    if not distribution:
        return None
    label = min(distribution, key=lambda k: (-distribution[k], -votes.get(k, 0), k))
    return label, float(distribution[label])


def vote_entropy(votes: Mapping[str, int], n_labels: int | None = None) -> float:
    """Shannon entropy of the vote shares divided by ``log(n_labels)``: 0 when
    everybody agrees, 1 when votes are spread evenly over every label.
    ``n_labels`` defaults to the number of keys of ``votes``."""
    total = sum(votes.values())
    k = n_labels if n_labels is not None else len(votes)
    if total <= 0 or k < 2:
        return 0.0
    h = -sum((n / total) * math.log(n / total) for n in votes.values() if n > 0)
    return h / math.log(k)


def model_disagrees(label: str | None, model: Mapping[str, float] | None, confidence: float = 0.8) -> bool:
    """A model confidently (≥ ``confidence``) predicts another expression than ``label``."""
    if label is None or not model:
        return False
    top_label, top_p = _top(model, {})  # type: ignore[misc]
    return top_label != label and top_p >= confidence


def decide_clip(evidence: ClipEvidence, settings: PolicySettings | None = None) -> ClipDecision:
    """The status of one clip (see module docstring for the rule)."""
    s = settings or PolicySettings()
    n_expr = evidence.expression_votes
    rated = n_expr + evidence.not_face_votes
    top = _top(evidence.posterior, evidence.votes) if n_expr else None
    label, confidence = top if top else (None, 0.0)

    flags = set()
    n_labels = max(len(evidence.posterior), len(evidence.votes))
    if n_expr >= 2 and vote_entropy(evidence.votes, n_labels) >= s.entropy_threshold:
        flags.add(Flag.HIGH_ENTROPY)
    if model_disagrees(label, evidence.model, s.model_confidence):
        flags.add(Flag.MODEL_DISAGREES)
    flags_ = frozenset(flags)

    not_face_share = evidence.not_face_votes / rated if rated else 0.0
    if rated >= s.min_votes and not_face_share >= s.reject_share:
        return ClipDecision(
            ClipStatus.REJECTED, None, not_face_share, n_expr, flags_,
            f"{evidence.not_face_votes} of {rated} rated votes say not a face",
        )
    if label is not None and confidence >= s.tau and n_expr >= s.min_votes:
        return ClipDecision(
            ClipStatus.TRUSTED, label, confidence, n_expr, flags_,
            f"posterior {confidence:.3f} >= {s.tau} with {n_expr} expression votes",
        )
    if evidence.responses < s.max_overlap:
        return ClipDecision(
            ClipStatus.NEEDS_VOTES, label, confidence, n_expr, flags_,
            f"{evidence.responses} of {s.max_overlap} responses so far",
        )
    return ClipDecision(
        ClipStatus.REVIEW, label, confidence, n_expr, flags_,
        f"no trusted label after {evidence.responses} responses "
        f"(posterior {confidence:.3f}, {n_expr} expression votes)",
    )


class BatchAction(StrEnum):
    ACCEPT = "accept"
    EXPERT_REVIEW = "expert_review"
    DISCARD = "discard"  # discard the batch's votes and deal its clips again


@dataclass(frozen=True)
class BatchDecision:
    action: BatchAction
    accuracy: float | None
    gold_correct: int
    gold_total: int
    reason: str


def decide_batch(
    gold_correct: int,
    gold_total: int,
    *,
    accept_at: float = 0.8,
    discard_below: float = 0.4,
) -> BatchDecision:
    """FERV39k's batch rule on the gold clips of one annotator's batch.

    accuracy ≥ ``accept_at``: accept; ``discard_below`` ≤ accuracy <
    ``accept_at``: expert review; below: discard. A batch without gold cannot
    be judged and goes to expert review.
    """
    if not 0.0 <= discard_below <= accept_at <= 1.0:
        raise PolicyError(f"need 0 <= discard_below ({discard_below}) <= accept_at ({accept_at}) <= 1")
    if gold_total < 0 or not 0 <= gold_correct <= gold_total:
        raise PolicyError(f"need 0 <= gold_correct ({gold_correct}) <= gold_total ({gold_total})")
    if gold_total == 0:
        return BatchDecision(BatchAction.EXPERT_REVIEW, None, 0, 0, "no gold clips in the batch")
    accuracy = gold_correct / gold_total
    # Tolerance so 4/5 counts as 80% despite binary floating point.
    if accuracy >= accept_at - 1e-12:
        action = BatchAction.ACCEPT
    elif accuracy >= discard_below - 1e-12:
        action = BatchAction.EXPERT_REVIEW
    else:
        action = BatchAction.DISCARD
    return BatchDecision(
        action, accuracy, gold_correct, gold_total,
        f"{gold_correct}/{gold_total} gold clips right ({accuracy:.0%})",
    )
