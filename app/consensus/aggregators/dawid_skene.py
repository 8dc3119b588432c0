"""Dawid–Skene with full confusion matrices, and its one-coin special case."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .base import (
    EPS,
    Aggregator,
    FitResult,
    Layout,
    clamp_gold,
    gold_log_likelihood,
    log_normalise,
    one_coin_confusions,
)
from .majority import _vote_shares

__all__ = ["DawidSkene", "OneCoinDawidSkene", "run_em"]

# An M-step maps posteriors (n_items, K) to (confusions (W, K, L), priors (K,)).
MStep = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def run_em(
    layout: Layout,
    gold: np.ndarray,
    m_step: MStep,
    *,
    n_iter: int,
    tol: float | None,
    init: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, float]:
    """EM for any model whose likelihood is a per-worker confusion matrix.

    Starts from ``init`` posteriors (majority vote shares by default), then
    alternates M (``m_step``) and E (:meth:`Layout.log_joint`, in log space),
    clamping gold items after every E-step. Stops after ``n_iter`` rounds or
    when the log-likelihood per vote improves by less than ``tol`` (``None``:
    never early). Returns (posteriors, confusions, priors, rounds, log-likelihood).
    """
    if init is None:
        init = _vote_shares(layout, None, np.full(layout.n_labels, 1.0 / layout.n_labels))
    posteriors = init.copy()
    clamp_gold(posteriors, gold)
    previous = -np.inf
    log_likelihood = -np.inf
    rounds = 0
    for rounds in range(1, max(n_iter, 1) + 1):
        confusions, priors = m_step(posteriors)
        log_joint = layout.log_joint(
            np.log(np.maximum(confusions, EPS)), np.log(np.maximum(priors, EPS))
        )
        posteriors, log_norm = log_normalise(log_joint)
        clamp_gold(posteriors, gold)
        log_likelihood = gold_log_likelihood(log_joint, log_norm, gold)
        if tol is not None and (log_likelihood - previous) / layout.n_votes < tol:
            break
        previous = log_likelihood
    confusions, priors = m_step(posteriors)
    return posteriors, confusions, priors, rounds, log_likelihood


def _priors(posteriors: np.ndarray, smoothing: float) -> np.ndarray:
    counts = posteriors.sum(axis=0) + smoothing
    return counts / counts.sum()


class DawidSkene(Aggregator):
    r"""Dawid–Skene (Dawid & Skene 1979, "Maximum likelihood estimation of
    observer error-rates using the EM algorithm", JRSS C 28(1)).

    Each worker :math:`w` has a full confusion matrix
    :math:`\pi^w_{kl} = P(\text{answer } l \mid \text{true } k)`; items have a
    class prior :math:`\rho_k`. With posteriors :math:`T_{ik} = P(z_i = k)`:

    E-step (log space, normalised with log-sum-exp)

    .. math:: \log T_{ik} = \log\rho_k + \sum_{v \in i} \log \pi^{w_v}_{k\,l_v} + c_i

    M-step (MAP with a symmetric Dirichlet pseudo-count :math:`\alpha` =
    ``smoothing`` on every confusion cell and :math:`\beta` = ``prior_smoothing``
    on the prior)

    .. math:: \pi^w_{kl} \propto \alpha + \sum_{v:\,w_v = w,\ l_v = l} T_{i_v k},
              \qquad \rho_k \propto \beta + \sum_i T_{ik}

    Initialised from majority-vote shares; gold items are clamped to their
    one-hot truth after every E-step. Stops after ``n_iter`` rounds or when the
    log-likelihood per vote gains less than ``tol`` (``tol=None``: exactly
    ``n_iter`` rounds). ``skills_`` is each worker's expected accuracy
    :math:`\sum_k \rho_k \pi^w_{kk}`.
    """

    name = "ds"
    iterative = True

    def __init__(
        self,
        n_iter: int = 100,
        tol: float | None = 1e-5,
        smoothing: float = 0.01,
        prior_smoothing: float = 1.0,
    ) -> None:
        self.n_iter = n_iter
        self.tol = tol
        self.smoothing = smoothing
        self.prior_smoothing = prior_smoothing

    def _m_step(self, layout: Layout) -> MStep:
        alpha, beta = self.smoothing, self.prior_smoothing

        def m_step(posteriors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            counts = layout.confusion_counts(posteriors) + alpha
            confusions = counts / np.maximum(counts.sum(axis=2, keepdims=True), EPS)
            return confusions, _priors(posteriors, beta)

        return m_step

    def _fit(self, layout: Layout, gold: np.ndarray) -> FitResult:
        probas, confusions, priors, rounds, ll = run_em(
            layout, gold, self._m_step(layout), n_iter=self.n_iter, tol=self.tol
        )
        skills = np.einsum("k,wkk->w", priors, confusions)
        return FitResult(probas, priors, skills, confusions, rounds, ll)


class OneCoinDawidSkene(DawidSkene):
    r"""One-coin Dawid–Skene: one accuracy per worker, errors spread evenly
    (the "one-coin" model of Karger, Oh & Shah 2011 and Raykar & Yu 2012;
    the symmetric special case of Dawid & Skene 1979).

    .. math:: \pi^w_{kl} = p_w [l = k] + \frac{1 - p_w}{K - 1} [l \ne k]

    E-step as in :class:`DawidSkene`; the M-step is the MAP accuracy under a
    Beta(1+α, 1+α) prior (α = ``smoothing``):

    .. math:: p_w = \frac{\alpha + \sum_{v \in w} T_{i_v l_v}}{2\alpha + n_w}

    Far fewer parameters than the full model (one per worker instead of
    :math:`K(K-1)`), so it is steadier on workers with few votes.
    ``skills_`` is :math:`p_w`.
    """

    name = "onecoin"

    def __init__(
        self,
        n_iter: int = 100,
        tol: float | None = 1e-5,
        smoothing: float = 1.0,
        prior_smoothing: float = 1.0,
    ) -> None:
        super().__init__(n_iter, tol, smoothing, prior_smoothing)

    def _m_step(self, layout: Layout) -> MStep:
        alpha, beta, n_labels = self.smoothing, self.prior_smoothing, layout.n_labels
        n_votes = layout.worker_counts

        def m_step(posteriors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            correct = layout.per_worker(layout.at_labels(posteriors))
            accuracy = (correct + alpha) / (n_votes + 2 * alpha)
            return one_coin_confusions(accuracy, n_labels), _priors(posteriors, beta)

        return m_step

    def _fit(self, layout: Layout, gold: np.ndarray) -> FitResult:
        result = super()._fit(layout, gold)
        result.skills = result.confusions[:, 0, 0].copy()
        return result
