"""Votes and truth as CSV files, and ``aggregate_file`` behind ``fervlab aggregate``.

Votes: header ``question,worker,answer`` (the shared crowd sets) or
``task,worker,label`` (crowd-kit), in any column order, extra columns ignored,
any label set. Truth: ``question,truth``, ``task,label`` or ``task,truth``.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import time
from collections.abc import Sequence
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

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


def _decode(path: Path, what: str) -> str:
    if not path.is_file():
        raise VotesFileError(f"{what} file not found: {path}")
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise VotesFileError(f"{what} file {path} is not UTF-8 text (byte {exc.start})") from None


def _pick(header: list[str], accepted: Sequence[Sequence[str]], path: Path, what: str) -> tuple[list[int], int]:
    """Positions of the accepted columns in the header, and its width."""
    if not any(cell.strip() for cell in header):
        raise VotesFileError(f"{what} file is empty: {path}")
    names = [cell.strip().lower() for cell in header]
    wanted = next((cols for cols in accepted if set(cols) <= set(names)), None)
    if wanted is None:
        expected = " or ".join(",".join(cols) for cols in accepted)
        raise VotesFileError(f"bad header in {what} file {path}: got {','.join(names)!r}, expected {expected}")
    return [names.index(col) for col in wanted], len(names)


# What csv.writer would quote (QUOTE_MINIMAL).
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')
# Whitespace that a field could carry (newlines are line ends here).
_PADDING = re.compile(r"[^\S\n]")


def _columns_fast(text: str, accepted, path: Path, what: str) -> list[list[str]]:
    """Columns of a file without quotes (a truth file, or votes that are not
    plain ASCII): splitting, counting and stripping run in C over whole
    columns (``csv.reader`` makes a Python list per row, which at a million
    rows costs several times the fit)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # csv's line ends
    lines = text.split("\n")
    index, width = _pick(lines[0].split(","), accepted, path, what)
    body = lines[1:]
    while body and not body[-1]:
        body.pop()  # the file's last line end
    counts = list(map(str.count, body, repeat(",", len(body))))
    if counts.count(width - 1) != len(body):
        off = [i for i, n in enumerate(counts) if n != width - 1]
        for i in off:
            if counts[i] or body[i].strip():  # a blank line is skipped, as csv does
                raise VotesFileError(f"{path}, line {i + 2}: expected {width} fields, got {counts[i] + 1}")
        skip = set(off)
        body = [line for i, line in enumerate(body) if i not in skip]
    if not body:
        raise VotesFileError(f"{what} file has a header but no rows: {path}")
    flat = ",".join(body).split(",")
    padded = _PADDING.search(text) is not None
    return [list(map(str.strip, flat[i::width])) if padded else flat[i::width] for i in index]


def _columns_csv(text: str, accepted, path: Path, what: str) -> list[list[str]]:
    """Columns of any CSV (quoted fields, commas or newlines in them), by the
    csv module."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise VotesFileError(f"{what} file is empty: {path}")
        index, width = _pick(header, accepted, path, what)
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # blank line
            if len(row) != width:
                raise VotesFileError(f"{path}, line {line}: expected {width} fields, got {len(row)}")
            rows.append([row[i].strip() for i in index])
    except csv.Error as exc:
        raise VotesFileError(f"{path}, line {reader.line_num}: {exc}") from None
    if not rows:
        raise VotesFileError(f"{what} file has a header but no rows: {path}")
    return [list(col) for col in zip(*rows)]


def _read_columns(path: str | os.PathLike[str], accepted: Sequence[Sequence[str]], what: str) -> list[list[str]]:
    """The accepted columns of a CSV file's data rows, checked: fields
    stripped, blank lines skipped, a row of the wrong width an error."""
    path = Path(path)
    text = _decode(path, what)
    if not text.strip():
        raise VotesFileError(f"{what} file is empty: {path}")
    if '"' in text:
        return _columns_csv(text, accepted, path, what)
    return _columns_fast(text, accepted, path, what)


def _factorize(values: list[str], names: list[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """Integer codes of `values` over `names` (default: order of first appearance)."""
    if names is None:
        names = list(dict.fromkeys(values))
    ids = {name: k for k, name in enumerate(names)}
    return np.fromiter(map(ids.__getitem__, values), dtype=np.int64, count=len(values)), names


def _coded_columns_fast(path: Path) -> list[tuple[np.ndarray, list[str]]] | None:
    """(codes, names) of the three vote columns of a plain ASCII file without
    quotes, parsed as bytes (app/consensus/votes_bytes.py); None for any
    other file."""
    from . import votes_bytes

    if not path.is_file():
        return None
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data or data.isspace() or not data.isascii() or b'"' in data or b"\0" in data:
        return None
    head, _, body = data.partition(b"\n")
    head = head.removesuffix(b"\r")
    if b"\r" in head:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")  # csv's line ends
        head, _, body = data.partition(b"\n")
    index, width = _pick(head.decode("ascii").split(","), VOTE_HEADERS, path, "votes")
    try:
        try:
            a, starts, ends = votes_bytes.fields(body, width, index)
        except votes_bytes.LoneCR:
            a, starts, ends = votes_bytes.fields(body.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), width, index)
    except votes_bytes.BadRow as exc:
        raise VotesFileError(f"{path}, line {exc.line + 1}: expected {width} fields, got {exc.fields}") from None
    if not starts.shape[0]:
        raise VotesFileError(f"votes file has a header but no rows: {path}")
    return [votes_bytes.factorize(a, starts[:, j], ends[:, j]) for j in range(len(index))]


def read_votes(path: str | os.PathLike[str]) -> Votes:
    """Votes from a CSV file (see module docstring for the accepted headers).
    Items and workers are numbered in order of first appearance, labels sorted
    (as ``Votes.from_rows`` does)."""
    coded = _coded_columns_fast(Path(path))
    if coded is not None:
        (items, item_names), (workers, worker_names), (labels, seen) = coded
        label_names = sorted(seen)
        labels = np.array([label_names.index(name) for name in seen], dtype=np.int64)[labels]
    else:
        item_col, worker_col, label_col = _read_columns(path, VOTE_HEADERS, "votes")
        items, item_names = _factorize(item_col)
        workers, worker_names = _factorize(worker_col)
        labels, label_names = _factorize(label_col, sorted(set(label_col)))
    try:
        return Votes(items=items, workers=workers, labels=labels, item_names=tuple(item_names),
                     worker_names=tuple(worker_names), label_names=tuple(label_names))
    except AggregationError as exc:
        raise VotesFileError(f"{path}: {exc}") from None


def read_truth(path: str | os.PathLike[str]) -> dict[str, str]:
    """item -> true label from a CSV file (``question,truth``, ``task,label`` or ``task,truth``)."""
    items, truths = _read_columns(path, TRUTH_HEADERS, "truth")
    return dict(zip(items, truths))


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
    labels = fitted.label_names_
    names = [labels[k] for k in fitted.labels_.tolist()]
    shares = [f"{p:.6f}" for p in confidence.tolist()]
    if any(_NEEDS_QUOTES.search(n) for n in (*fitted.item_names_, *labels)):
        out = io.StringIO(newline="")
        writer = csv.writer(out)
        writer.writerow(("task", "label", "confidence"))
        writer.writerows(zip(fitted.item_names_, names, shares))
        text = out.getvalue()
    else:  # what csv.writer writes, in one join
        text = "".join(f"{i},{n},{p}\r\n" for i, n, p in zip(fitted.item_names_, names, shares))
        text = "task,label,confidence\r\n" + text
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            handle.write(text)
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
