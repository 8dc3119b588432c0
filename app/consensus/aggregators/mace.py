"""MACE: competent workers copy the truth, spammers follow a habit (Hovy et al. 2013)."""

from __future__ import annotations

import numpy as np

from .base import (
    EPS,
    Aggregator,
    FitResult,
    Layout,
    clamp_gold,
    gold_log_likelihood,
    log_normalise,
)
from .majority import _vote_shares

__all__ = ["MACE", "digamma"]


def digamma(x: np.ndarray) -> np.ndarray:
    """ψ(x) for x > 0: recurrence up to x ≥ 6, then the asymptotic series (error < 1e-10)."""
    x = np.array(x, dtype=float)
    shift = np.zeros_like(x)
    for _ in range(6):
        small = x < 6
        shift -= np.where(small, 1.0 / np.where(small, x, 1.0), 0.0)
        x = np.where(small, x + 1, x)
    inv2 = 1.0 / (x * x)
    series = inv2 * (1 / 12 - inv2 * (1 / 120 - inv2 * (1 / 252 - inv2 * (1 / 240 - inv2 / 132))))
    return shift + np.log(x) - 0.5 / x - series


class MACE(Aggregator):
    r"""MACE, "Multi-Annotator Competence Estimation" (Hovy, Berg-Kirkpatrick,
    Vaswani & Hovy 2013, "Learning whom to trust with MACE", NAACL-HLT).

    Each worker :math:`w` knows the answer with probability :math:`\theta_w`
    (competence) and copies the truth; otherwise it spams, drawing a label
    from its own habit :math:`\xi_w`. True labels are uniform.

    .. math:: P(l \mid z = k) = \theta_w [l = k] + (1 - \theta_w)\,\xi_{w l}

    E-step: the posterior :math:`T_{ik}` as in Dawid–Skene with that confusion
    matrix (log space), and for each vote the expected "knowing" indicator
    :math:`\kappa_v = T_{i_v l_v}\,\theta_w / (\theta_w + (1-\theta_w)\xi_{w l_v})`.
    M-step from :math:`K_w = \sum_{v\in w}\kappa_v` and spam counts
    :math:`S_{wl} = \sum_{v \in w,\, l_v = l}(1 - \kappa_v)`:

    - ``method="vb"`` (the paper's default): variational Bayes with priors
      Beta(a, b) on θ and Dirichlet(γ) on ξ; the E-step uses
      :math:`\tilde\theta_w = e^{\psi(K_w + a) - \psi(n_w + a + b)}`,
      :math:`\widetilde{1-\theta_w} = e^{\psi(n_w - K_w + b) - \psi(n_w + a + b)}`,
      :math:`\tilde\xi_{wl} = e^{\psi(S_{wl} + \gamma) - \psi(\sum_l S_{wl} + K\gamma)}`.
    - ``method="em"``: MAP point estimates with pseudo-count ``smoothing``.

    The first run starts from majority-vote posteriors; ``n_restarts - 1``
    more start from random parameters (seeded by ``random_state``) and the
    run with the highest log-likelihood wins, as in the paper. Gold items are
    clamped. ``skills_`` is :math:`\theta_w`; ``spam_`` is :math:`\xi_w`.
    """

    name = "mace"
    iterative = True

    def __init__(
        self,
        n_iter: int = 50,
        tol: float | None = 1e-5,
        n_restarts: int = 10,
        method: str = "vb",
        alpha: float = 0.5,
        beta: float = 0.5,
        gamma: float = 1.0,
        smoothing: float = 0.01,
        random_state: int = 0,
    ) -> None:
        if method not in ("vb", "em"):
            raise ValueError(f"method must be 'vb' or 'em', got {method!r}")
        self.n_iter = n_iter
        self.tol = tol
        self.n_restarts = n_restarts
        self.method = method
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.smoothing = smoothing
        self.random_state = random_state

    @staticmethod
    def _confusions(know: np.ndarray, spam: np.ndarray, habit: np.ndarray) -> np.ndarray:
        eye = np.eye(habit.shape[1])
        return know[:, None, None] * eye + (spam[:, None] * habit)[:, None, :]

    def _m_step(
        self, layout: Layout, posteriors: np.ndarray, know: np.ndarray, spam: np.ndarray,
        habit: np.ndarray, n_wl: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_labels = layout.n_labels
        # Expected posterior mass on "the vote is right", per (worker, label).
        right = np.bincount(
            layout.wl, weights=layout.at_labels(posteriors), minlength=n_wl.size
        ).reshape(-1, n_labels)
        share = know[:, None] / np.maximum(know[:, None] + spam[:, None] * habit, EPS)
        knowing = right * share
        spam_counts = np.maximum(n_wl.reshape(-1, n_labels) - knowing, 0.0)
        k_w, n_w = knowing.sum(axis=1), layout.worker_counts.astype(float)
        if self.method == "vb":
            a, b, g = self.alpha, self.beta, self.gamma
            total = digamma(n_w + a + b)
            know = np.exp(digamma(k_w + a) - total)
            spam = np.exp(digamma(n_w - k_w + b) - total)
            habit = np.exp(
                digamma(spam_counts + g)
                - digamma(spam_counts.sum(axis=1, keepdims=True) + n_labels * g)
            )
        else:
            s = self.smoothing
            know = (k_w + s) / (n_w + 2 * s)
            spam = 1.0 - know
            habit = (spam_counts + s) / (spam_counts.sum(axis=1, keepdims=True) + n_labels * s)
        return know, spam, habit

    def _run(
        self, layout: Layout, gold: np.ndarray, know: np.ndarray, spam: np.ndarray,
        habit: np.ndarray, posteriors: np.ndarray | None,
    ) -> tuple[float, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        n_labels = layout.n_labels
        n_wl = np.bincount(layout.wl, minlength=layout.n_workers * n_labels).astype(float)
        log_priors = np.full(n_labels, -np.log(n_labels))
        if posteriors is not None:  # start from posteriors: M-step first
            know, spam, habit = self._m_step(layout, posteriors, know, spam, habit, n_wl)
        previous, log_likelihood, rounds = -np.inf, -np.inf, 0
        for rounds in range(1, max(self.n_iter, 1) + 1):
            confusions = self._confusions(know, spam, habit)
            log_joint = layout.log_joint(np.log(np.maximum(confusions, EPS)), log_priors)
            posteriors, log_norm = log_normalise(log_joint)
            clamp_gold(posteriors, gold)
            log_likelihood = gold_log_likelihood(log_joint, log_norm, gold)
            know, spam, habit = self._m_step(layout, posteriors, know, spam, habit, n_wl)
            if self.tol is not None and (log_likelihood - previous) / layout.n_votes < self.tol:
                break
            previous = log_likelihood
        return log_likelihood, rounds, posteriors, know, spam, habit

    def _fit(self, layout: Layout, gold: np.ndarray) -> FitResult:
        n_workers, n_labels = layout.n_workers, layout.n_labels
        rng = np.random.default_rng(self.random_state)
        start = _vote_shares(layout, None, np.full(n_labels, 1.0 / n_labels))
        clamp_gold(start, gold)
        # Neutral parameters: only used to split "right" mass in the first M-step.
        know0 = np.full(n_workers, 0.5)
        habit0 = np.full((n_workers, n_labels), 1.0 / n_labels)
        best = self._run(layout, gold, know0, 1 - know0, habit0, start)
        total_rounds = best[1]
        # Random draws go to workers in name order, so row order cannot matter.
        by_name = np.argsort(np.argsort(np.array(layout.worker_names, dtype=object)))
        for _ in range(max(self.n_restarts, 1) - 1):
            know = rng.uniform(0.0, 1.0, n_workers)[by_name]
            habit = rng.dirichlet(np.ones(n_labels), n_workers)[by_name]
            run = self._run(layout, gold, know, 1 - know, habit, None)
            total_rounds += run[1]
            if run[0] > best[0]:  # strict: earlier (MV-started) run wins ties
                best = run
        log_likelihood, _, posteriors, know, spam, habit = best
        confusions = self._confusions(know, spam, habit)
        confusions /= confusions.sum(axis=2, keepdims=True)
        theta = know / (know + spam)
        self.spam_ = habit / habit.sum(axis=1, keepdims=True)
        return FitResult(
            posteriors, np.full(n_labels, 1.0 / n_labels), theta, confusions,
            total_rounds, log_likelihood,
        )
