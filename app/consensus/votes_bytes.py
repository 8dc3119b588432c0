"""The fast path of the votes reader: a plain ASCII CSV body (no quotes, no
NUL bytes, line ends already `\\n`) split, checked, stripped and factorized
as bytes with numpy, so no Python object is made per vote — only one per
distinct item, worker and label.

Same result as splitting each line on commas, stripping each field
(`str.strip`) and numbering the values in order of first appearance: the
votes reader (app/consensus/votes_csv.py) falls back to that for any other
file.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NL, CR, COMMA = 10, 13, 44
# The ASCII characters `str.strip` removes (`\n` and `\r` are line ends here).
PADDING = b"\t\x0b\x0c\x1c\x1d\x1e\x1f "
WHITESPACE = np.zeros(256, dtype=bool)
WHITESPACE[list(PADDING)] = True
# MASKS[n]: the low n bytes of a little-endian uint64.
MASKS = np.array([(1 << (8 * n)) - 1 for n in range(8)] + [2**64 - 1], dtype=np.uint64)


class BadRow(ValueError):
    """A non-blank row with the wrong number of fields (`line` counts the body's lines from 1)."""

    def __init__(self, line: int, fields: int):
        super().__init__(f"line {line}: {fields} fields")
        self.line, self.fields = line, fields


class LoneCR(ValueError):
    """A `\\r` that does not end a line before `\\n`: normalise line ends first."""


def fields(body: bytes, width: int, columns: Sequence[int] | None = None,
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bytes, starts, ends): field `columns[j]` of row `r` is
    `bytes[starts[r, j]:ends[r, j]]`, stripped (columns: all by default; the
    others are neither placed nor stripped). Blank lines are dropped; another
    row whose width is not `width` raises BadRow. Line ends are `\\n` or
    `\\r\\n` (LoneCR otherwise). The bytes array has 8 spare zero bytes at
    its end (see `factorize`)."""
    columns = list(range(width)) if columns is None else list(columns)
    if body and not body.endswith(b"\n"):
        body += b"\n"
    a = np.frombuffer(body + bytes(8), dtype=np.uint8)
    size = len(body)
    ends = np.flatnonzero(a == NL)
    crs = body.count(b"\r")
    if crs and crs != int((a[np.maximum(ends - 1, 0)] == CR).sum()):
        raise LoneCR()
    commas = np.flatnonzero(a == COMMA)
    if not _every_row_has(width - 1, commas, ends):
        a, ends, commas = _drop_blank_lines(body, a[:size], ends, commas, width)
    n = ends.size
    grid = commas.reshape(n, width - 1)  # a view: comma f ends field f
    line_ends = ends - (a[np.maximum(ends - 1, 0)] == CR) if crs else ends
    field_starts = np.empty((n, len(columns)), dtype=np.int64)
    field_ends = np.empty_like(field_starts)
    for j, f in enumerate(columns):
        field_ends[:, j] = grid[:, f] if f < width - 1 else line_ends
        if f:
            field_starts[:, j] = grid[:, f - 1] + 1
        else:
            field_starts[:1, j] = 0
            field_starts[1:, j] = ends[:-1] + 1
    _strip(a, field_starts, field_ends)
    return a, field_starts, field_ends


def _every_row_has(k: int, commas: np.ndarray, ends: np.ndarray) -> bool:
    """Whether line r holds exactly the commas r*k … r*k+k-1 (so k each)."""
    n = ends.size
    if commas.size != n * k:
        return False
    if n == 0 or k == 0:
        return True
    grid = commas.reshape(n, k)
    line_starts = np.concatenate(([0], ends[:-1] + 1))
    return bool((grid[:, 0] >= line_starts).all() and (grid[:, -1] < ends).all())


def _drop_blank_lines(body: bytes, a: np.ndarray, ends: np.ndarray, commas: np.ndarray, width: int):
    starts = np.concatenate(([0], ends[:-1] + 1))
    counts = np.searchsorted(commas, ends) - np.searchsorted(commas, starts)
    off = np.flatnonzero(counts != width - 1)
    for i in off.tolist():
        if counts[i] or body[starts[i]:ends[i]].decode("ascii").strip():
            raise BadRow(i + 1, int(counts[i]) + 1)
    keep = np.ones(ends.size, dtype=bool)
    keep[off] = False  # blank lines, as csv skips them
    a = np.concatenate((a[np.repeat(keep, ends - starts + 1)], np.zeros(8, dtype=np.uint8)))
    return a, np.flatnonzero(a == NL), np.flatnonzero(a == COMMA)


def _strip(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> None:
    """Moves starts and ends (C-contiguous, changed in place) past the
    padding. Only fields with a padding byte at either end are touched: a
    space inside a value (a time stamp's) costs nothing."""
    s, e = starts.reshape(-1), ends.reshape(-1)  # views
    last = a.size - 1
    cand = np.flatnonzero(WHITESPACE[a[np.minimum(s, last)]] | WHITESPACE[a[np.maximum(e - 1, 0)]])
    if not cand.size:
        return
    ss, ee = s[cand], e[cand]
    while True:
        lead = (ss < ee) & WHITESPACE[a[np.minimum(ss, last)]]
        if not lead.any():
            break
        ss[lead] += 1
    while True:
        trail = (ee > ss) & WHITESPACE[a[np.maximum(ee - 1, 0)]]
        if not trail.any():
            break
        ee[trail] -= 1
    s[cand], e[cand] = ss, ee


def factorize(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Codes of one column's values, numbered in order of first appearance,
    and the values. `a` ends with 8 spare zero bytes."""
    n = starts.size
    lengths = ends - starts
    longest = int(lengths.max()) if n else 0
    chunks = max(1, -(-longest // 8))
    window = _windows(a, a.size - 7)  # eight bytes from every offset, one uint64 each
    if chunks == 1:
        keys = window[starts] & MASKS[np.minimum(lengths, 8)]
    else:
        grid = np.empty((n, chunks), dtype=np.uint64)
        for c in range(chunks):
            grid[:, c] = window[np.minimum(starts + 8 * c, a.size - 8)] & MASKS[
                np.minimum(np.maximum(lengths - 8 * c, 0), 8)]
        keys = grid.view(f"S{8 * chunks}").ravel()
    # Zero padding cannot merge two values: the body holds no NUL byte.
    # Votes files often list an item's votes together: code each run of equal
    # keys once.
    heads = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if n else np.arange(0)
    grouped = heads.size < n // 2
    run_keys = keys[heads] if grouped else keys
    distinct = np.unique(run_keys)  # a hash table, not a sort, for integer keys
    run_codes = np.searchsorted(distinct, run_keys)
    first = np.full(distinct.size, n, dtype=np.int64)
    np.minimum.at(first, run_codes, heads if grouped else np.arange(n))
    codes = np.repeat(run_codes, np.diff(np.append(heads, n))) if grouped else run_codes
    order = np.argsort(first)
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size)
    return rank[codes], _texts(a, starts[first[order]], ends[first[order]])


def _texts(a: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> list[str]:
    """The values `a[starts[j]:ends[j]]` as str, gathered into one buffer
    (one newline after each: values never hold one) and decoded once."""
    lengths = ends - starts
    total = int(lengths.sum())
    owner = np.repeat(np.arange(starts.size), lengths)
    within = np.arange(total) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out = np.full(total + starts.size, NL, dtype=np.uint8)
    out[owner + np.arange(total)] = a[starts[owner] + within]
    return out.tobytes().decode("ascii").split("\n")[:starts.size]


def _windows(a: np.ndarray, count: int) -> np.ndarray:
    """`count` overlapping little-endian uint64 views, one per byte offset of `a`."""
    return np.ndarray(shape=(count,), dtype="<u8", buffer=a, offset=0, strides=(1,))
