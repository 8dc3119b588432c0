"""What changed between two releases. Pure: clip rows in, counts out."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import NamedTuple

KINDS = ("added", "removed", "relabelled", "split_changed")
SAMPLE = 20


class DiffRow(NamedTuple):
    key: str
    scene: str
    expression: str
    split: str


def diff_releases(a: Mapping[int, DiffRow], b: Mapping[int, DiffRow], *, sample: int = SAMPLE) -> dict:
    """a, b: clip id → row. Added/removed are counted under the scene and
    expression of the release that has them; a relabelled clip under its
    scene, and under both expressions (as `from` and `to`)."""
    per_scene: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    per_expr: dict[str, dict[str, int]] = defaultdict(
        lambda: {"added": 0, "removed": 0, "relabelled_from": 0, "relabelled_to": 0, "split_changed": 0})
    examples: dict[str, list] = {k: [] for k in KINDS}
    totals = dict.fromkeys(KINDS, 0)

    def note(kind: str, row: DiffRow, extra: dict | None = None) -> None:
        totals[kind] += 1
        per_scene[row.scene][kind] += 1
        if len(examples[kind]) < sample:
            examples[kind].append({"clip": row.key, **(extra or {})})

    for cid in sorted(b.keys() - a.keys()):
        note("added", b[cid])
        per_expr[b[cid].expression]["added"] += 1
    for cid in sorted(a.keys() - b.keys()):
        note("removed", a[cid])
        per_expr[a[cid].expression]["removed"] += 1
    unchanged = 0
    for cid in sorted(a.keys() & b.keys()):
        x, y = a[cid], b[cid]
        unchanged += x.expression == y.expression and x.split == y.split
        if x.expression != y.expression:
            note("relabelled", y, {"from": x.expression, "to": y.expression})
            per_expr[x.expression]["relabelled_from"] += 1
            per_expr[y.expression]["relabelled_to"] += 1
        if x.split != y.split:
            note("split_changed", y, {"from": x.split, "to": y.split})
            per_expr[y.expression]["split_changed"] += 1
    return {**totals, "unchanged": unchanged, "per_scene": dict(sorted(per_scene.items())), "per_expression": dict(sorted(per_expr.items())),
            "examples": examples}
