"""The stable train/test split, stratified by scene × expression. Pure.

A clip keeps its split once it has one (it is stored on the clip); new clips
are placed so that each stratum's test share comes as close as it can to the
target without moving anybody: within a stratum the new clips are ordered by a
keyed hash of their key (so the choice is reproducible and independent of
insertion order) and the first ones go to test.

How many: every stratum gets floor(share · n) test clips (less the ones it
already holds), and the strata with the largest remainders get one more until
all strata with new clips together hold round(share · N). Rounding each
stratum on its own would give a stratum of one or two clips no test clip at
all: a small instance (or FERV39k's rare scene × expression pairs) would get
no test set. So each stratum is within one clip of its share and the whole
is exact. With no clip placed yet this is a plain stratified split.
"""
from __future__ import annotations

import hashlib
import math
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
    take: dict[Hashable, int] = {}
    remainders = []
    total = held = 0
    for stratum, keys in strata.items():
        train, test = placed.get(stratum, (0, 0))
        n = train + test + len(keys)
        quota = test_share * n
        floor = math.floor(quota + 1e-9)
        take[stratum] = max(0, min(len(keys), floor - test))
        total, held = total + n, held + test + take[stratum]
        if take[stratum] < len(keys) and test + take[stratum] < quota - 1e-9:
            # the largest remainder first; ties by a keyed hash of the stratum
            remainders.append((-(quota - test - take[stratum]), _rank(repr(stratum), salt), stratum))
    for _, _, stratum in sorted(remainders)[: max(0, round(test_share * total) - held)]:
        take[stratum] += 1
    for stratum, keys in strata.items():
        keys.sort(key=lambda k: _rank(k, salt))
        for k in keys[: take[stratum]]:
            out[k] = "test"
    return out
