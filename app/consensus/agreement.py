"""Inter-annotator agreement: Fleiss' κ and Krippendorff's α (nominal).

Both take either :class:`~app.consensus.aggregators.Votes` or an
``(n_items, n_labels)`` matrix of vote counts, and allow a different number of
votes per item. Items with fewer than two votes carry no agreement information
and are left out. When the votes leave agreement undefined (e.g. everybody used
one label), the result is ``nan``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .aggregators import AggregationError, Votes

__all__ = ["vote_counts", "fleiss_kappa", "krippendorff_alpha"]


def vote_counts(data: Votes | ArrayLike) -> np.ndarray:
    """``(n_items, n_labels)`` float matrix of counts, validated."""
    if isinstance(data, Votes):
        return data.counts()
    counts = np.asarray(data, dtype=float)
    if counts.ndim != 2 or counts.shape[1] < 2:
        raise AggregationError(f"expected an (items, labels>=2) count matrix, got shape {counts.shape}")
    if (counts < 0).any() or not np.all(np.isfinite(counts)) or np.any(counts != np.round(counts)):
        raise AggregationError("vote counts must be non-negative integers")
    return counts


def fleiss_kappa(data: Votes | ArrayLike) -> float:
    r"""Fleiss' κ (Fleiss 1971, "Measuring nominal scale agreement among many raters").

    With :math:`n_{ij}` votes for label :math:`j` on item :math:`i` and
    :math:`n_i = \sum_j n_{ij} \ge 2`:

    .. math:: P_i = \frac{\sum_j n_{ij}(n_{ij}-1)}{n_i(n_i-1)},\quad
              \bar P = \operatorname{mean}_i P_i,\quad
              p_j = \frac{\sum_i n_{ij}}{\sum_i n_i},\quad
              \kappa = \frac{\bar P - \sum_j p_j^2}{1 - \sum_j p_j^2}

    For a constant number of votes this is exactly Fleiss' statistic; with a
    varying number, :math:`P_i` is each item's own pairwise agreement.
    """
    counts = vote_counts(data)
    n_i = counts.sum(axis=1)
    counts, n_i = counts[n_i >= 2], n_i[n_i >= 2]
    if counts.shape[0] == 0:
        return float("nan")
    p_bar = float(np.mean((counts * (counts - 1)).sum(axis=1) / (n_i * (n_i - 1))))
    p_j = counts.sum(axis=0) / n_i.sum()
    p_e = float((p_j**2).sum())
    if np.isclose(p_e, 1.0):
        return float("nan")
    return (p_bar - p_e) / (1 - p_e)


def krippendorff_alpha(data: Votes | ArrayLike) -> float:
    r"""Krippendorff's α for nominal data (Krippendorff 2011, "Computing
    Krippendorff's alpha-reliability"), any number of votes per item.

    Coincidences over the items with :math:`m_u \ge 2` votes:

    .. math:: o_{ck} = \sum_u \frac{n_{uc}(n_{uk} - [c = k])}{m_u - 1},\quad
              n_c = \sum_k o_{ck},\quad n = \sum_c n_c,\quad
              \alpha = 1 - (n - 1)\frac{\sum_{c \ne k} o_{ck}}{\sum_{c \ne k} n_c n_k}
    """
    counts = vote_counts(data)
    m_u = counts.sum(axis=1)
    counts, m_u = counts[m_u >= 2], m_u[m_u >= 2]
    if counts.shape[0] == 0:
        return float("nan")
    weighted = counts / (m_u - 1)[:, None]
    coincidence = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    n_c = coincidence.sum(axis=1)
    n = n_c.sum()
    observed = coincidence.sum() - np.trace(coincidence)
    expected = n_c.sum() ** 2 - (n_c**2).sum()
    if expected <= 0:
        return float("nan")
    return float(1.0 - (n - 1) * observed / expected)


def kappa_per_category(counts: np.ndarray) -> np.ndarray:
    r"""Fleiss' κ_j for each category (Fleiss 1971, eq. 12), generalised to a
    varying number of votes per item n_i ≥ 2:

    .. math:: \kappa_j = 1 - \frac{\sum_i n_{ij}(n_i - n_{ij}) / (n_i(n_i - 1))}{N\,p_j\,q_j}

    which is Fleiss' formula when every n_i = n. nan where p_j is 0 or 1."""
    counts = np.asarray(counts, dtype=float)
    n_i = counts.sum(axis=1)
    counts, n_i = counts[n_i >= 2], n_i[n_i >= 2]
    if counts.shape[0] == 0:
        return np.full(counts.shape[1], np.nan)
    p = counts.sum(axis=0) / n_i.sum()
    disagreement = (counts * (n_i[:, None] - counts) / (n_i * (n_i - 1))[:, None]).sum(axis=0)
    denom = counts.shape[0] * p * (1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, 1 - disagreement / np.where(denom > 0, denom, 1), np.nan)
