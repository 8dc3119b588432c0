"""GLAD: worker ability and item difficulty (Whitehill et al. 2009)."""

from __future__ import annotations

import numpy as np

from .base import (
    Aggregator,
    FitResult,
    Layout,
    clamp_gold,
    gold_log_likelihood,
    log_normalise,
    one_coin_confusions,
)
from .majority import _vote_shares

__all__ = ["GLAD"]


def _log_sigmoids(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log σ(x), log(1 - σ(x))), stable for any x, sharing one exp and one log1p."""
    soft = np.log1p(np.exp(-np.abs(x)))
    return np.minimum(x, 0.0) - soft, np.minimum(-x, 0.0) - soft


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


class GLAD(Aggregator):
    r"""GLAD, "Generative model of Labels, Abilities, and Difficulties"
    (Whitehill, Ruvolo, Wu, Bergsma & Movellan 2009, "Whose vote should count
    more", NIPS 22), multi-class form.

    Worker :math:`w` has ability :math:`\alpha_w \in \mathbb R`; item :math:`i`
    has inverse difficulty :math:`\beta_i = e^{b_i} > 0`. A vote is right with
    probability :math:`\sigma(\alpha_w\beta_i)`, else uniform over the other
    :math:`K-1` labels:

    .. math:: P(l_v = k \mid z_i = k) = \sigma(x_v),\quad
              P(l_v = l \mid z_i = k) = \frac{1-\sigma(x_v)}{K-1},\quad
              x_v = \alpha_{w_v}\beta_{i_v}

    E-step (log space): :math:`\log T_{ik} = \log\rho_k + \sum_{v\in i}
    \big[\log\tfrac{1-\sigma(x_v)}{K-1} + [l_v = k]\,(\log\sigma(x_v) -
    \log\tfrac{1-\sigma(x_v)}{K-1})\big]`.

    M-step: maximise :math:`Q = \sum_v \big[c_v\log\sigma(x_v) +
    (1-c_v)\log(1-\sigma(x_v))\big] - \frac{(\alpha_w-\mu_\alpha)^2}{2s_\alpha^2}
    - \frac{(b_i-\mu_b)^2}{2s_b^2}` where :math:`c_v = T_{i_v l_v}` is the
    posterior that vote :math:`v` is right. Since :math:`\partial Q/\partial x_v
    = c_v - \sigma(x_v)`, every :math:`\alpha_w` is independent of the others
    given :math:`\beta` (and every :math:`b_i` given :math:`\alpha`), so the
    M-step is ``m_steps`` rounds of block-coordinate Fisher scoring — one
    vectorised Newton step for all abilities, then one for all difficulties:

    .. math:: \alpha_w \mathrel{+}= \frac{\sum_{v\in w}(c_v-\sigma_v)\beta_{i_v}
              - (\alpha_w-\mu_\alpha)/s_\alpha^2}{\sum_{v\in w}\sigma_v(1-\sigma_v)
              \beta_{i_v}^2 + 1/s_\alpha^2}

    (and likewise for :math:`b_i` with :math:`\partial x_v/\partial b_i = x_v`).
    Steps are clipped to ``max_step`` for safety. The class prior
    :math:`\rho` is uniform as in the paper (``learn_priors=True`` re-estimates
    it each round; on workers biased toward one label, as in bluebirds, that
    lets the bias feed itself: 0.72 -> 0.59). Gold items are clamped. ``skills_`` is
    :math:`\alpha_w`; ``difficulties_`` is :math:`1/\beta_i`;
    ``confusions_`` is the one-coin model at the median item difficulty.
    """

    name = "glad"
    iterative = True

    def __init__(
        self,
        n_iter: int = 100,
        tol: float | None = 1e-5,
        m_steps: int = 3,
        alpha_prior: tuple[float, float] = (1.0, 1.0),
        log_beta_prior: tuple[float, float] = (0.0, 1.0),
        prior_smoothing: float = 1.0,
        max_step: float = 2.0,
        learn_priors: bool = False,
    ) -> None:
        self.learn_priors = learn_priors
        self.n_iter = n_iter
        self.tol = tol
        self.m_steps = m_steps
        self.alpha_prior = alpha_prior
        self.log_beta_prior = log_beta_prior
        self.prior_smoothing = prior_smoothing
        self.max_step = max_step

    def _e_step(
        self, layout: Layout, x: np.ndarray, log_priors: np.ndarray
    ) -> np.ndarray:
        log_right, log_wrong = _log_sigmoids(x)
        log_wrong -= np.log(layout.n_labels - 1)
        log_joint = np.repeat(layout.sum_votes(log_wrong)[:, None], layout.n_labels, axis=1)
        layout.add_at_labels(log_joint, log_right - log_wrong)
        return log_joint + log_priors

    def _m_step(
        self, layout: Layout, right: np.ndarray, alpha: np.ndarray, b: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        (mu_a, s_a), (mu_b, s_b) = self.alpha_prior, self.log_beta_prior
        workers = layout.workers
        for _ in range(self.m_steps):
            beta_v = layout.expand(np.exp(b))
            x = alpha.take(workers) * beta_v
            sig = _sigmoid(x)
            grad = layout.per_worker((right - sig) * beta_v) - (alpha - mu_a) / s_a**2
            info = layout.per_worker(sig * (1 - sig) * beta_v**2) + 1 / s_a**2
            alpha = alpha + np.clip(grad / info, -self.max_step, self.max_step)

            x = alpha.take(workers) * beta_v
            sig = _sigmoid(x)
            grad = layout.sum_votes((right - sig) * x) - (b - mu_b) / s_b**2
            info = layout.sum_votes(sig * (1 - sig) * x**2) + 1 / s_b**2
            b = b + np.clip(grad / info, -self.max_step, self.max_step)
        return alpha, b

    def _priors(self, posteriors: np.ndarray) -> np.ndarray:
        if not self.learn_priors:
            return np.full(posteriors.shape[1], 1.0 / posteriors.shape[1])
        priors = posteriors.sum(axis=0) + self.prior_smoothing
        return priors / priors.sum()

    def _fit(self, layout: Layout, gold: np.ndarray) -> FitResult:
        n_labels = layout.n_labels
        posteriors = _vote_shares(layout, None, np.full(n_labels, 1.0 / n_labels))
        clamp_gold(posteriors, gold)
        alpha = np.full(layout.n_workers, self.alpha_prior[0])
        b = np.full(layout.n_items, self.log_beta_prior[0])
        previous, log_likelihood, rounds = -np.inf, -np.inf, 0
        for rounds in range(1, max(self.n_iter, 1) + 1):
            priors = self._priors(posteriors)
            alpha, b = self._m_step(layout, layout.at_labels(posteriors), alpha, b)
            x = alpha.take(layout.workers) * layout.expand(np.exp(b))
            log_joint = self._e_step(layout, x, np.log(priors))
            posteriors, log_norm = log_normalise(log_joint)
            clamp_gold(posteriors, gold)
            log_likelihood = gold_log_likelihood(log_joint, log_norm, gold)
            if self.tol is not None and (log_likelihood - previous) / layout.n_votes < self.tol:
                break
            previous = log_likelihood
        priors = self._priors(posteriors)
        self.difficulties_ = layout.to_original(np.exp(-b))
        typical_beta = float(np.exp(np.median(b[layout.item_counts > 0])))
        accuracy = _sigmoid(alpha * typical_beta)
        confusions = one_coin_confusions(accuracy, n_labels)
        return FitResult(posteriors, priors, alpha, confusions, rounds, log_likelihood)
