"""The input of every aggregator: a typed, validated bag of votes.

Votes are three parallel integer arrays (item, worker, label), one entry per
vote, plus the name lists that those integers index. Validation happens once,
here, so the algorithms can trust their input and stay branch-free.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["AggregationError", "Votes", "COLUMN_ALIASES"]


class AggregationError(ValueError):
    """Invalid input to a consensus algorithm (the message says what and where)."""


# Accepted spellings of the three columns (crowd-kit uses task/worker/label,
# the shared crowd sets use question/worker/answer).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "item": ("task", "question", "item", "clip"),
    "worker": ("worker", "annotator", "worker_id"),
    "label": ("label", "answer"),
}


def _as_index_array(values: object, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise AggregationError(f"{name} must be a 1-D array, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise AggregationError(f"{name} must hold integer codes, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


@dataclass(frozen=True, eq=False)
class Votes:
    """Integer-coded votes: ``labels[v]`` is what ``workers[v]`` said about ``items[v]``.

    ``item_names[i]``, ``worker_names[w]`` and ``label_names[k]`` give the names
    behind the codes. Items without any vote are allowed (their posterior is
    the class prior); at least two workers and one vote are required.
    """

    items: np.ndarray
    workers: np.ndarray
    labels: np.ndarray
    item_names: tuple[str, ...]
    worker_names: tuple[str, ...]
    label_names: tuple[str, ...]

    def __post_init__(self) -> None:
        items = _as_index_array(self.items, "items")
        workers = _as_index_array(self.workers, "workers")
        labels = _as_index_array(self.labels, "labels")
        if not (items.size == workers.size == labels.size):
            raise AggregationError(
                f"items, workers and labels differ in length "
                f"({items.size}, {workers.size}, {labels.size})"
            )
        if items.size == 0:
            raise AggregationError("no votes: at least one vote is needed")
        names = {}
        for field, codes in (("item", items), ("worker", workers), ("label", labels)):
            listed = tuple(str(n) for n in getattr(self, f"{field}_names"))
            if len(set(listed)) != len(listed):
                raise AggregationError(f"{field}_names contains duplicates")
            lo, hi = int(codes.min()), int(codes.max())
            if lo < 0 or hi >= len(listed):
                raise AggregationError(
                    f"{field} code out of range: codes span [{lo}, {hi}] "
                    f"but there are {len(listed)} {field} names"
                )
            names[field] = listed
        if len(names["label"]) < 2:
            raise AggregationError("at least two labels are needed to aggregate")
        if workers.min() == workers.max():
            raise AggregationError(
                "a single annotator: consensus needs votes from at least two workers"
            )
        for array in (items, workers, labels):
            array.flags.writeable = False
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "workers", workers)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "item_names", names["item"])
        object.__setattr__(self, "worker_names", names["worker"])
        object.__setattr__(self, "label_names", names["label"])

    # -- sizes ---------------------------------------------------------------
    @property
    def n_votes(self) -> int:
        return int(self.items.size)

    @property
    def n_items(self) -> int:
        return len(self.item_names)

    @property
    def n_workers(self) -> int:
        return len(self.worker_names)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)

    def __len__(self) -> int:
        return self.n_votes

    def __repr__(self) -> str:
        return (
            f"Votes(n_votes={self.n_votes}, n_items={self.n_items}, "
            f"n_workers={self.n_workers}, labels={list(self.label_names)})"
        )

    # -- constructors --------------------------------------------------------
    @classmethod
    def from_rows(
        cls,
        rows: Iterable[Sequence[object]],
        *,
        label_names: Sequence[str] | None = None,
    ) -> Votes:
        """Build from ``(item, worker, label)`` rows of names.

        Items and workers are numbered in order of first appearance. Labels are
        ``label_names`` when given (a vote outside it is an error), else the
        sorted set of labels seen, so tie-breaking never depends on row order.
        """
        item_ids: dict[str, int] = {}
        worker_ids: dict[str, int] = {}
        raw_labels: list[str] = []
        items: list[int] = []
        workers: list[int] = []
        for n, row in enumerate(rows):
            if len(row) != 3:
                raise AggregationError(
                    f"row {n}: expected 3 fields (item, worker, label), got {len(row)}"
                )
            item, worker, label = (str(x) for x in row)
            items.append(item_ids.setdefault(item, len(item_ids)))
            workers.append(worker_ids.setdefault(worker, len(worker_ids)))
            raw_labels.append(label)
        if not items:
            raise AggregationError("no votes: the input has no rows")
        if label_names is None:
            names = sorted(set(raw_labels))
        else:
            names = [str(n) for n in label_names]
        label_ids = {name: k for k, name in enumerate(names)}
        try:
            labels = [label_ids[name] for name in raw_labels]
        except KeyError as exc:
            raise AggregationError(
                f"label {exc.args[0]!r} is not one of the labels {names}"
            ) from None
        return cls(
            items=np.array(items, dtype=np.int64),
            workers=np.array(workers, dtype=np.int64),
            labels=np.array(labels, dtype=np.int64),
            item_names=tuple(item_ids),
            worker_names=tuple(worker_ids),
            label_names=tuple(names),
        )

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, Sequence[object]],
        *,
        label_names: Sequence[str] | None = None,
    ) -> Votes:
        """Build from named columns, e.g. ``{"task": [...], "worker": [...], "label": [...]}``.

        Any spelling in :data:`COLUMN_ALIASES` is accepted (``question`` /
        ``answer`` too); a missing column is an :class:`AggregationError`.
        """
        picked = []
        for role, aliases in COLUMN_ALIASES.items():
            found = next((a for a in aliases if a in columns), None)
            if found is None:
                raise AggregationError(
                    f"missing column for {role}: expected one of {list(aliases)}, "
                    f"got {sorted(columns)}"
                )
            picked.append(columns[found])
        lengths = {len(c) for c in picked}
        if len(lengths) != 1:
            raise AggregationError(f"columns differ in length: {sorted(lengths)}")
        return cls.from_rows(zip(*picked), label_names=label_names)

    # -- derived views -------------------------------------------------------
    def label_index(self, name: str) -> int:
        try:
            return self.label_names.index(str(name))
        except ValueError:
            raise AggregationError(
                f"label {name!r} is not one of the labels {list(self.label_names)}"
            ) from None

    def encode_gold(self, gold: Mapping[str, str] | None) -> np.ndarray:
        """Gold answers as an ``(n_items,)`` array of label codes, -1 where unknown.

        Gold items absent from the votes are ignored (they cannot be clamped).
        """
        codes = np.full(self.n_items, -1, dtype=np.int64)
        if not gold:
            return codes
        item_ids = {name: i for i, name in enumerate(self.item_names)}
        for item, label in gold.items():
            i = item_ids.get(str(item))
            if i is not None:
                codes[i] = self.label_index(label)
        return codes

    def counts(self) -> np.ndarray:
        """``(n_items, n_labels)`` matrix of vote counts."""
        flat = np.bincount(
            self.items * self.n_labels + self.labels,
            minlength=self.n_items * self.n_labels,
        )
        return flat.reshape(self.n_items, self.n_labels).astype(np.float64)

    def votes_per_worker(self) -> np.ndarray:
        return np.bincount(self.workers, minlength=self.n_workers)
