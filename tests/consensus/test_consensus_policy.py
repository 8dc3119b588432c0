import pytest

from app.consensus.policy import (
    BatchAction,
    ClipDecision,
    ClipEvidence,
    ClipStatus,
    Flag,
    PolicyError,
    PolicySettings,
    decide_batch,
    decide_clip,
    model_disagrees,
    vote_entropy,
)

EXPRESSIONS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise"]


def posterior(**probs):
    rest = (1 - sum(probs.values())) / (len(EXPRESSIONS) - len(probs))
    return {e: probs.get(e, rest) for e in EXPRESSIONS}


def evidence(post, votes, **kw):
    return ClipEvidence(posterior=post, votes=votes, **kw)


def test_trusted_needs_confidence_and_enough_votes():
    d = decide_clip(evidence(posterior(happy=0.95), {"happy": 3}))
    assert d.status is ClipStatus.TRUSTED and d.label == "happy"
    assert d.confidence == pytest.approx(0.95) and d.expression_votes == 3
    assert isinstance(d, ClipDecision) and d.reason
    # confident but only two votes
    assert decide_clip(evidence(posterior(happy=0.99), {"happy": 2})).status is ClipStatus.NEEDS_VOTES
    # exactly tau counts
    assert decide_clip(evidence(posterior(happy=0.9), {"happy": 3})).status is ClipStatus.TRUSTED


def test_needs_votes_until_max_overlap_then_review():
    post = posterior(fear=0.6, surprise=0.35)
    assert decide_clip(evidence(post, {"fear": 2, "surprise": 2})).status is ClipStatus.NEEDS_VOTES
    d = decide_clip(evidence(post, {"fear": 3, "surprise": 2}))
    assert d.status is ClipStatus.REVIEW and d.label == "fear"
    settings = PolicySettings(max_overlap=7)
    assert decide_clip(evidence(post, {"fear": 3, "surprise": 2}), settings).status is ClipStatus.NEEDS_VOTES


def test_pass_votes_use_a_slot_but_are_not_expression_votes():
    # 2 expression votes + 3 PASS: max overlap reached, not enough votes to trust.
    d = decide_clip(evidence(posterior(happy=0.97), {"happy": 2}, pass_votes=3))
    assert d.status is ClipStatus.REVIEW and d.expression_votes == 2
    # all PASS so far: no label, more votes
    d = decide_clip(evidence({}, {}, pass_votes=2))
    assert d.status is ClipStatus.NEEDS_VOTES and d.label is None and d.confidence == 0.0
    assert decide_clip(evidence({}, {}, pass_votes=5)).status is ClipStatus.REVIEW


def test_not_a_face_rejects_with_enough_rated_votes():
    d = decide_clip(evidence(posterior(sad=0.9), {"sad": 1}, not_face_votes=2))
    assert d.status is ClipStatus.REJECTED and d.label is None
    assert d.confidence == pytest.approx(2 / 3)
    # half of the rated votes is enough; PASS does not dilute the share
    d = decide_clip(evidence(posterior(sad=0.99), {"sad": 2}, not_face_votes=2, pass_votes=1))
    assert d.status is ClipStatus.REJECTED
    # not enough rated votes yet
    assert decide_clip(evidence({}, {}, not_face_votes=2)).status is ClipStatus.NEEDS_VOTES
    # a minority of not-a-face votes does not block trust
    d = decide_clip(evidence(posterior(sad=0.95), {"sad": 3}, not_face_votes=1))
    assert d.status is ClipStatus.TRUSTED


def test_high_entropy_flag():
    assert vote_entropy({"happy": 5}) == 0.0
    assert vote_entropy({e: 1 for e in EXPRESSIONS}) == pytest.approx(1.0)
    assert vote_entropy({"happy": 3, "sad": 2}, 7) == pytest.approx(0.3458, abs=1e-4)
    spread = decide_clip(evidence(posterior(happy=0.5), {"happy": 2, "sad": 2, "fear": 1}))
    assert Flag.HIGH_ENTROPY in spread.flags
    calm = decide_clip(evidence(posterior(happy=0.95), {"happy": 4, "sad": 1}))
    assert Flag.HIGH_ENTROPY not in calm.flags and calm.status is ClipStatus.TRUSTED


def test_model_disagreement_flag():
    model = {"angry": 0.85, "disgust": 0.15}
    d = decide_clip(evidence(posterior(disgust=0.95), {"disgust": 3}, model=model))
    assert d.status is ClipStatus.TRUSTED and d.flags == {Flag.MODEL_DISAGREES}
    assert not model_disagrees("disgust", {"angry": 0.79, "disgust": 0.21})
    assert not model_disagrees("angry", model)
    assert not model_disagrees(None, model)
    assert not model_disagrees("angry", None)
    assert model_disagrees("disgust", {"angry": 0.8, "disgust": 0.2})  # threshold inclusive


def test_posterior_ties_are_deterministic():
    post = {"fear": 0.5, "surprise": 0.5}
    assert decide_clip(evidence(post, {"fear": 1, "surprise": 2})).label == "surprise"
    assert decide_clip(evidence(post, {"fear": 1, "surprise": 1})).label == "fear"


@pytest.mark.parametrize(
    "kwargs",
    [dict(tau=1.5), dict(min_votes=0), dict(max_overlap=2), dict(reject_share=-0.1),
     dict(model_confidence=2.0)],
)
def test_bad_settings(kwargs):
    with pytest.raises(PolicyError):
        PolicySettings(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [dict(posterior={"a": 1.5}, votes={"a": 1}), dict(posterior={}, votes={"a": -1}),
     dict(posterior={}, votes={}, pass_votes=-1)],
)
def test_bad_evidence(kwargs):
    with pytest.raises(PolicyError):
        ClipEvidence(**kwargs)
    assert issubclass(PolicyError, ValueError)


@pytest.mark.parametrize(
    ("correct", "total", "action"),
    [(10, 10, BatchAction.ACCEPT), (4, 5, BatchAction.ACCEPT), (79, 100, BatchAction.EXPERT_REVIEW),
     (2, 5, BatchAction.EXPERT_REVIEW), (39, 100, BatchAction.DISCARD), (0, 3, BatchAction.DISCARD)],
)
def test_batch_rule_boundaries(correct, total, action):
    decision = decide_batch(correct, total)
    assert decision.action is action
    assert decision.accuracy == pytest.approx(correct / total)
    assert (decision.gold_correct, decision.gold_total) == (correct, total)


def test_batch_without_gold_and_bad_input():
    d = decide_batch(0, 0)
    assert d.action is BatchAction.EXPERT_REVIEW and d.accuracy is None and "no gold" in d.reason
    with pytest.raises(PolicyError):
        decide_batch(3, 2)
    with pytest.raises(PolicyError):
        decide_batch(1, 2, accept_at=0.3, discard_below=0.5)
    assert decide_batch(3, 4, accept_at=0.75).action is BatchAction.ACCEPT


def test_decisions_are_plain_values():
    d = decide_clip(evidence(posterior(happy=0.95), {"happy": 3}))
    assert d.status == "trusted" and str(d.status) == "trusted"
    with pytest.raises(AttributeError):
        d.status = ClipStatus.REVIEW
