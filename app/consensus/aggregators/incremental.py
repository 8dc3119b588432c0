"""Posterior of one item from the parameters of the last full fit.

A full fit runs now and then (a ConsensusRun); in between, every new vote only
changes its own item. Holding the workers' confusion matrices fixed, that
item's posterior is one E-step over its few votes:

.. math:: P(z = k \\mid \\text{votes}) \\propto \\rho_k \\prod_{v} \\pi^{w_v}_{k\\,l_v}

which takes microseconds. Workers unseen by the last fit get the ``default``
confusion matrix (the mean of the known workers' unless given).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .base import EPS, Aggregator
from .votes import AggregationError

__all__ = ["ConsensusModel", "item_posterior", "PARAMS_VERSION"]

PARAMS_VERSION = 1


def item_posterior(
    workers: Sequence[Hashable],
    labels: Sequence[int],
    confusions: np.ndarray | Mapping[Hashable, Any],
    priors: Sequence[float] | np.ndarray,
    *,
    default: np.ndarray | None = None,
) -> np.ndarray:
    """Posterior over K labels of ONE item given its votes.

    ``workers[v]`` voted label code ``labels[v]``. ``confusions`` is either a
    ``(W, K, K)`` array indexed by integer worker codes, or a mapping from
    worker id to a ``(K, K)`` matrix; ``confusions[w][k, l] = P(w answers l |
    true k)``. A worker missing from it (or a code outside ``0..W-1``) uses
    ``default`` — by default the mean of the known matrices. No votes: the prior.
    """
    priors = np.asarray(priors, dtype=float)
    n_labels = priors.size
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if len(workers) != labels.size:
        raise AggregationError(
            f"workers and labels differ in length ({len(workers)}, {labels.size})"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_labels):
        raise AggregationError(f"label code out of range for {n_labels} labels: {labels.tolist()}")

    if isinstance(confusions, Mapping):
        known = [confusions.get(w) for w in workers]
        if default is None and any(m is None for m in known):
            default = np.mean(np.stack([np.asarray(m, float) for m in confusions.values()]), axis=0) \
                if confusions else np.full((n_labels, n_labels), 1.0 / n_labels)
        matrices = [np.asarray(default if m is None else m, dtype=float) for m in known]
    else:
        table = np.asarray(confusions, dtype=float)
        codes = np.asarray(workers, dtype=np.int64).reshape(-1)
        inside = (codes >= 0) & (codes < table.shape[0])
        if default is None and not inside.all():
            default = table.mean(axis=0)
        matrices = [table[c] if ok else np.asarray(default, float) for c, ok in zip(codes, inside)]

    log_post = np.log(np.maximum(priors, EPS))
    if matrices:
        stacked = np.stack(matrices)  # (n_votes, K, K)
        # column l_v of each voter's matrix: P(that answer | each true class)
        log_post = log_post + np.log(
            np.maximum(stacked[np.arange(labels.size), :, labels], EPS)
        ).sum(axis=0)
    log_post -= log_post.max()
    post = np.exp(log_post)
    return post / post.sum()


@dataclass(frozen=True, eq=False)
class ConsensusModel:
    """What an incremental update needs from a full fit, storable as JSON.

    ``confusions[w, k, l] = P(worker_names[w] answers label_names[l] | true k)``.
    """

    method: str
    label_names: tuple[str, ...]
    worker_names: tuple[str, ...]
    priors: np.ndarray  # (K,)
    confusions: np.ndarray  # (W, K, K)
    default: np.ndarray  # (K, K) for unknown workers
    skills: np.ndarray  # (W,)

    def __post_init__(self) -> None:
        k, w = len(self.label_names), len(self.worker_names)
        if self.priors.shape != (k,) or self.confusions.shape != (w, k, k) or self.default.shape != (k, k):
            raise AggregationError(
                f"inconsistent consensus parameters: {k} labels, {w} workers, priors "
                f"{self.priors.shape}, confusions {self.confusions.shape}, default {self.default.shape}"
            )
        object.__setattr__(self, "_worker_index", {n: i for i, n in enumerate(self.worker_names)})
        object.__setattr__(self, "_label_index", {n: i for i, n in enumerate(self.label_names)})

    @classmethod
    def from_aggregator(cls, fitted: Aggregator) -> ConsensusModel:
        if not hasattr(fitted, "confusions_"):
            raise AggregationError(f"{type(fitted).__name__} is not fitted yet")
        confusions = np.asarray(fitted.confusions_, dtype=float)
        return cls(
            method=fitted.name,
            label_names=tuple(fitted.label_names_),
            worker_names=tuple(fitted.worker_names_),
            priors=np.asarray(fitted.priors_, dtype=float),
            confusions=confusions,
            default=confusions.mean(axis=0),
            skills=np.asarray(fitted.skills_, dtype=float),
        )

    # -- JSON ------------------------------------------------------------------
    def to_params(self) -> dict[str, Any]:
        """Plain JSON-able data: lists and floats keyed by label/worker names."""
        return {
            "version": PARAMS_VERSION,
            "method": self.method,
            "labels": list(self.label_names),
            "priors": self.priors.tolist(),
            "default_confusion": self.default.tolist(),
            "workers": {
                name: {"confusion": self.confusions[w].tolist(), "skill": float(self.skills[w])}
                for w, name in enumerate(self.worker_names)
            },
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ConsensusModel:
        try:
            if params.get("version") != PARAMS_VERSION:
                raise AggregationError(
                    f"unsupported consensus parameters version {params.get('version')!r}"
                )
            labels = tuple(str(x) for x in params["labels"])
            workers = params["workers"]
            names = tuple(str(n) for n in workers)
            k = len(labels)
            confusions = np.array(
                [workers[n]["confusion"] for n in workers], dtype=float
            ).reshape(len(names), k, k)
            return cls(
                method=str(params["method"]),
                label_names=labels,
                worker_names=names,
                priors=np.asarray(params["priors"], dtype=float),
                confusions=confusions,
                default=np.asarray(params["default_confusion"], dtype=float),
                skills=np.array([float(workers[n].get("skill", np.nan)) for n in workers]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, AggregationError):
                raise
            raise AggregationError(f"malformed consensus parameters: {exc!r}") from None

    # -- use -------------------------------------------------------------------
    def posterior(self, votes: Iterable[tuple[str, str]]) -> dict[str, float]:
        """Posterior of one item from its ``(worker name, label name)`` votes."""
        codes, labels = [], []
        for worker, label in votes:
            try:
                labels.append(self._label_index[str(label)])  # type: ignore[attr-defined]
            except KeyError:
                raise AggregationError(
                    f"label {label!r} is not one of the labels {list(self.label_names)}"
                ) from None
            codes.append(self._worker_index.get(str(worker), -1))  # type: ignore[attr-defined]
        post = item_posterior(codes, labels, self.confusions, self.priors, default=self.default)
        return dict(zip(self.label_names, post.tolist()))
