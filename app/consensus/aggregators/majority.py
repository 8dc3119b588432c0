"""Vote counting: majority vote and Wawa (worker agreement with aggregate)."""

from __future__ import annotations

import numpy as np

from .base import EPS, Aggregator, FitResult, Layout, argmax_with_ties, clamp_gold, one_coin_confusions

__all__ = ["MajorityVote", "Wawa"]


def _vote_shares(layout: Layout, weights: np.ndarray | None, fallback: np.ndarray) -> np.ndarray:
    """Per-item (weighted) share of each label; items without votes get ``fallback``."""
    if weights is None:
        counts = layout.sum_table(np.eye(layout.n_labels), layout.labels)
    else:
        counts = np.zeros((layout.n_items, layout.n_labels))
        layout.add_at_labels(counts, weights)
    total = counts.sum(axis=1, keepdims=True)
    return np.where(total > 0, counts / np.where(total > 0, total, 1.0), fallback)


def _agreement(layout: Layout, consensus: np.ndarray) -> np.ndarray:
    """Share of each worker's votes that equal the consensus label of the item."""
    agree = (layout.labels == layout.expand(consensus)).astype(float)
    return layout.per_worker(agree) / np.maximum(layout.worker_counts, 1)


def _label_frequencies(layout: Layout) -> np.ndarray:
    return np.bincount(layout.labels, minlength=layout.n_labels) / layout.n_votes


def _majority(layout: Layout, gold: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Majority vote with reliability tie-breaks: (vote shares, label frequencies, labels)."""
    priors = _label_frequencies(layout)
    probas = _vote_shares(layout, None, priors)
    clamp_gold(probas, gold)
    top = probas.max(axis=1, keepdims=True)
    tied = probas >= top * (1 - 1e-9)
    clear = tied.sum(axis=1) == 1
    # Reliability from the clear-majority items only (ties say nothing yet).
    agree = (layout.labels == layout.expand(probas.argmax(axis=1))).astype(float)
    voted_clear = layout.expand(clear).astype(float)
    n_clear = layout.per_worker(voted_clear)
    reliability = np.where(
        n_clear > 0, layout.per_worker(agree * voted_clear) / np.maximum(n_clear, 1), 0.5
    )
    support = np.zeros_like(probas)
    layout.add_at_labels(support, reliability.take(layout.workers))
    labels = argmax_with_ties(np.where(tied, 1.0 + support, 0.0), priors)
    return probas, priors, labels


class MajorityVote(Aggregator):
    r"""Majority vote: each item takes its most frequent label.

    .. math:: \hat z_i = \arg\max_k \sum_{v \in i} [l_v = k],
              \qquad P(z_i = k) = \frac{1}{n_i}\sum_{v \in i} [l_v = k]

    Ties are broken deterministically and never by row order: first by the
    summed reliability of the tied labels' voters (each worker's agreement
    with the majority on the items that had a clear majority), then by the
    label's overall frequency, then by the lower label index. Reliability
    matters on real data: on the RTE set, workers who over-use one label make
    a tie evidence *for the other one*, and the frequency rule alone loses
    4 points there.

    ``skills_`` is each worker's agreement with the majority. Gold items are
    set to their truth. ``confusions_`` is a one-coin model with every worker
    at the mean agreement, so an incremental update ranks labels by votes.
    """

    name = "mv"

    def _fit(self, layout: Layout, gold: np.ndarray) -> FitResult:
        probas, priors, labels = _majority(layout, gold)
        skills = _agreement(layout, labels)
        mean_skill = float(np.clip(skills.mean(), 1.0 / layout.n_labels + 1e-3, 1 - 1e-3))
        confusions = one_coin_confusions(np.full(layout.n_workers, mean_skill), layout.n_labels)
        return FitResult(probas, priors, skills, confusions, labels=labels)


class Wawa(Aggregator):
    r"""Wawa, "worker agreement with aggregate" (as in crowd-kit, Ustalov et al.
    2021; used by Appen/Figure Eight as a trust score).

    1. :class:`MajorityVote` gives provisional labels :math:`\hat z_i`.
    2. A worker's skill is its agreement with them,
       :math:`s_w = \frac{1}{n_w}\sum_{v \in w} [l_v = \hat z_{i_v}]`.
    3. A weighted majority vote:
       :math:`P(z_i = k) \propto \sum_{v \in i} s_{w_v} [l_v = k]`.

    Gold items are clamped in step 1 (so skills are measured on them too) and
    in the result. ``confusions_`` is a one-coin model with accuracy ``s_w``.
    """

    name = "wawa"

    def _fit(self, layout: Layout, gold: np.ndarray) -> FitResult:
        _, priors, first = _majority(layout, gold)
        skills = _agreement(layout, first)
        weights = skills.take(layout.workers) + EPS  # keep all-zero items defined
        probas = _vote_shares(layout, weights, priors)
        clamp_gold(probas, gold)
        accuracy = np.clip(skills, 1e-3, 1 - 1e-3)
        return FitResult(probas, priors, skills, one_coin_confusions(accuracy, layout.n_labels))
