"""DFER metrics, pure numpy.

WAR (weighted average recall) is plain accuracy; UAR (unweighted average
recall) is the mean of the per-class recalls over the classes present in the
ground truth, so rare expressions count as much as common ones (FERV39k
reports both).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """counts[i, j] = clips of true class i predicted as j."""
    t = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(y_pred, dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} labels, y_pred {p.size}")
    for name, a in (("y_true", t), ("y_pred", p)):
        if a.size and (a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"{name} holds a class outside 0..{n_classes - 1}")
    return np.bincount(t * n_classes + p, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def recalls(cm: np.ndarray) -> np.ndarray:
    """Per-class recall; NaN for a class with no true clips."""
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(cm) / support, np.nan)


def war(cm: np.ndarray) -> float:
    total = cm.sum()
    return float(np.trace(cm) / total) if total else float("nan")


def uar(cm: np.ndarray) -> float:
    r = recalls(cm)
    return float(np.nanmean(r)) if np.isfinite(r).any() else float("nan")


@dataclass(frozen=True)
class Scores:
    war: float
    uar: float
    n: int
    confusion: list[list[int]]


def scores(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> Scores:
    cm = confusion_matrix(y_true, y_pred, n_classes)
    return Scores(war=war(cm), uar=uar(cm), n=int(cm.sum()), confusion=cm.tolist())


def scores_by(groups: Sequence[str], y_true: Sequence[int], y_pred: Sequence[int],
              n_classes: int) -> dict[str, Scores]:
    """Scores for each distinct group (e.g. scene or scenario), sorted by name."""
    g = np.asarray(groups, dtype=object)
    t, p = np.asarray(y_true), np.asarray(y_pred)
    return {key: scores(t[g == key], p[g == key], n_classes) for key in sorted(set(groups))}


def entropy(probs: np.ndarray) -> np.ndarray:
    """Shannon entropy in nats of each row (0: certain, ln 7 ≈ 1.95: uniform)."""
    p = np.clip(np.asarray(probs, dtype=np.float64), 1e-12, 1.0)
    return -(p * np.log(p)).sum(axis=-1)
