"""`votes.csv`: every vote behind a release in the `task,worker,label` shape
that `fervlab aggregate` (app/consensus/votes_csv.py) and crowd-kit read,
plus the assisted flag, the time to label and the time. Pure.

Annotators are pseudonymised by default: a keyed hash of the account id, the
same in every release of one instance, that cannot be turned back into the
account without the instance's secret key.
"""
from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO

HEADER: tuple[str, ...] = ("task", "worker", "label", "assisted", "duration_ms", "created_at")


def pseudonym(user_id: int, secret: str) -> str:
    digest = hashlib.blake2b(str(user_id).encode(), key=secret.encode()[:64], digest_size=6,
                             person=b"fervlab-votes").hexdigest()
    return f"a{digest}"


class VotesWriter:
    """Rows in, CSV out, one row at a time (a million votes never sit in a list)."""

    def __init__(self, handle: IO[str]):
        self._w = csv.writer(handle)
        self._w.writerow(HEADER)
        self.rows = 0

    def write(self, task: str, worker: str, label: str, assisted: bool, duration_ms: int | None,
              created_at: str) -> None:
        self._w.writerow((task, worker, label, int(bool(assisted)), "" if duration_ms is None else duration_ms,
                          created_at))
        self.rows += 1


def write_votes(path: Path, rows: Iterable[tuple]) -> int:
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = VotesWriter(f)
        for row in rows:
            w.write(*row)
    return w.rows
