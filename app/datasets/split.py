"""The stable train/test split, stratified by scene × expression. Pure.

A clip keeps its split once it has one (it is stored on the clip); new clips
are placed so that each stratum's test share comes as close as it can to the
target without moving anybody: within a stratum the new clips are ordered by a
keyed hash of their key (so the choice is reproducible and independent of
insertion order) and the first ones go to test until the stratum holds
round(share · n) test clips. With no clip placed yet this is a plain
stratified split with exact shares per stratum.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping
from typing import Literal

SplitName = Literal["train", "test"]
DEFAULT_TEST_SHARE = 0.2


def salt_for(seed: int) -> str:
    # Seed 0 keeps the salt the split has always used (workers/dfer/split.py).
    return "fervlab" if seed == 0 else f"fervlab:{seed}"


def _rank(key: str, salt: str) -> bytes:
    return hashlib.blake2b(f"{salt}\0{key}".encode(), digest_size=8).digest()


def place_new_clips(new: Iterable[tuple[str, Hashable]], *, placed: Mapping[Hashable, tuple[int, int]] | None = None,
                    test_share: float = DEFAULT_TEST_SHARE, seed: int = 0) -> dict[str, SplitName]:
    """new: (clip key, stratum) of clips without a split; placed: stratum →
    (train, test) counts of clips that already have one. Returns key → split
    for the new clips only."""
    if not 0.0 <= test_share <= 1.0:
        raise ValueError(f"the test share (test_fraction) must be within [0, 1], got {test_share}")
    placed = placed or {}
    salt = salt_for(seed)
    strata: dict[Hashable, list[str]] = defaultdict(list)
    out: dict[str, SplitName] = {}
    for key, stratum in new:
        if key in out:
            raise ValueError(f"clip {key!r} given twice")
        out[key] = "train"
        strata[stratum].append(key)
    for stratum, keys in strata.items():
        train, test = placed.get(stratum, (0, 0))
        wanted = round(test_share * (train + test + len(keys))) - test
        keys.sort(key=lambda k: _rank(k, salt))
        for k in keys[: max(0, min(len(keys), wanted))]:
            out[k] = "test"
    return out
