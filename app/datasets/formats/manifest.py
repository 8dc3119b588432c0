"""`clips.csv`: one line per clip of a release, everything a user needs to
filter the clips without fervlab. Pure."""
from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from pathlib import Path

COLUMNS: tuple[str, ...] = (
    "clip", "ferv39k_path", "scenario", "scene", "expression", "descriptor", "posterior", "votes", "agreement",
    "split", "label_source", "source", "source_video", "start_s", "end_s", "start_frame", "frame_count", "fps",
    "face_size", "sharpness", "det_confidence", "stability",
)


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_manifest(path: Path, rows: Iterable[Mapping]) -> int:
    """Write the rows (dicts with COLUMNS as keys, missing ones empty)."""
    n = 0
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for row in rows:
            w.writerow([_cell(row.get(c)) for c in COLUMNS])
            n += 1
    return n


def read_manifest(path: Path) -> list[dict[str, str]]:
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != COLUMNS:
            raise ValueError(f"{path}: not a fervlab clips.csv (header {reader.fieldnames})")
        return list(reader)
