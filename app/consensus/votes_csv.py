"""Votes and truth as CSV files, and ``aggregate_file`` behind ``fervlab aggregate``.

Votes: header ``question,worker,answer`` (the shared crowd sets) or
``task,worker,label`` (crowd-kit), in any column order, extra columns ignored,
any label set. Truth: ``question,truth``, ``task,label`` or ``task,truth``.
"""

from __future__ import annotations

import csv
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .aggregators import DEFAULT_METHOD, Aggregator, AggregationError, Votes, get_aggregator

__all__ = [
    "VotesFileError",
    "read_votes",
    "read_truth",
    "write_results",
    "aggregate_file",
    "accuracy_against",
]

VOTE_HEADERS: tuple[tuple[str, str, str], ...] = (
    ("question", "worker", "answer"),
    ("task", "worker", "label"),
)
TRUTH_HEADERS: tuple[tuple[str, str], ...] = (
    ("question", "truth"),
    ("task", "label"),
    ("task", "truth"),
)


class VotesFileError(AggregationError):
    """A votes or truth file that cannot be read (missing, empty, bad header, bad row)."""


def _read_table(path: str | os.PathLike[str], accepted: Sequence[Sequence[str]], what: str):
    """Yield the accepted columns of each data row of a CSV file, checked."""
    path = Path(path)
    if not path.is_file():
        raise VotesFileError(f"{what} file not found: {path}")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise VotesFileError(f"{what} file is empty: {path}")
        names = [cell.strip().lower() for cell in header]
        wanted = next((cols for cols in accepted if set(cols) <= set(names)), None)
        if wanted is None:
            expected = " or ".join(",".join(cols) for cols in accepted)
            raise VotesFileError(
                f"bad header in {what} file {path}: got {','.join(names)!r}, expected {expected}"
            )
        index = [names.index(col) for col in wanted]
        width = len(names)
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                raise VotesFileError(
                    f"{path}, line {line}: expected {width} fields, got {len(row)}"
                )
            rows.append(tuple(row[i].strip() for i in index))
    if not rows:
        raise VotesFileError(f"{what} file has a header but no rows: {path}")
    return rows


def read_votes(path: str | os.PathLike[str]) -> Votes:
    """Votes from a CSV file (see module docstring for the accepted headers)."""
    rows = _read_table(path, VOTE_HEADERS, "votes")
    try:
        return Votes.from_rows(rows)
    except VotesFileError:
        raise
    except AggregationError as exc:
        raise VotesFileError(f"{path}: {exc}") from None


def read_truth(path: str | os.PathLike[str]) -> dict[str, str]:
    """item -> true label from a CSV file (``question,truth``, ``task,label`` or ``task,truth``)."""
    return dict(_read_table(path, TRUTH_HEADERS, "truth"))


def accuracy_against(predicted: dict[str, str], truth: dict[str, str]) -> float | None:
    """Share of items in both mappings whose labels agree (None if none are shared)."""
    shared = [item for item in truth if item in predicted]
    if not shared:
        return None
    return sum(predicted[item] == truth[item] for item in shared) / len(shared)


def write_results(path: str | os.PathLike[str], fitted: Aggregator) -> None:
    """Write ``task,label,confidence`` atomically (a temporary file, then a rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    confidence = fitted.probas_[range(len(fitted.labels_)), fitted.labels_]
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("task", "label", "confidence"))
            labels = fitted.label_names_
            writer.writerows(
                (item, labels[k], f"{p:.6f}")
                for item, k, p in zip(fitted.item_names_, fitted.labels_.tolist(), confidence.tolist())
            )
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def aggregate_file(
    answers_path: str | os.PathLike[str],
    method: str = DEFAULT_METHOD,
    gold_path: str | os.PathLike[str] | None = None,
    out_path: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Aggregate a votes CSV with ``method``; optionally score it and write the labels.

    ``gold_path`` (a truth CSV) is used only to *measure* accuracy, over the
    items present in both files — it is not clamped into the fit, or the score
    would be meaningless. ``seconds`` covers reading, fitting and writing.
    Returns ``{"method", "items", "votes", "accuracy", "seconds"}``.
    """
    started = time.perf_counter()
    aggregator = get_aggregator(method)  # fail fast on an unknown method
    truth = read_truth(gold_path) if gold_path is not None else None
    votes = read_votes(answers_path)
    aggregator.fit(votes)
    accuracy = accuracy_against(aggregator.predicted_names(), truth) if truth is not None else None
    if out_path is not None:
        write_results(out_path, aggregator)
    return {
        "method": aggregator.name,
        "items": votes.n_items,
        "votes": votes.n_votes,
        "accuracy": accuracy,
        "seconds": round(time.perf_counter() - started, 4),
    }
