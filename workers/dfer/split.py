"""A stable train/test split, stratified by scene × expression. Torch-free,
so the web process (exports) may use it too.

Within each stratum the clips are ordered by a hash of their key and the first
round(fraction · n) go to test. The relative order of existing clips never
changes, so adding k clips to a stratum moves at most k of its existing clips
(and on average about fraction · k), and other strata are untouched; every
stratum keeps its exact share of test clips.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable
from typing import Literal

SplitName = Literal["train", "test"]


def _rank(key: str, salt: str) -> bytes:
    return hashlib.blake2b(f"{salt}\0{key}".encode(), digest_size=8).digest()


def stratified_split(items: Iterable[tuple[str, Hashable]], *, test_fraction: float = 0.2,
                     salt: str = "fervlab") -> dict[str, SplitName]:
    """items: (clip key, stratum), e.g. (key, (scene, expression)) → key → split."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be within [0, 1], got {test_fraction}")
    strata: dict[Hashable, list[str]] = defaultdict(list)
    out: dict[str, SplitName] = {}
    for key, stratum in items:
        if key in out:
            raise ValueError(f"clip {key!r} given twice")
        out[key] = "train"
        strata[stratum].append(key)
    for keys in strata.values():
        keys.sort(key=lambda k: _rank(k, salt))
        for k in keys[: round(test_fraction * len(keys))]:
            out[k] = "test"
    return out
