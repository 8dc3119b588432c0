"""A stable train/test split, stratified by scene × expression, for clips
that have none stored yet (see app/datasets/split.py, which places clips for
releases and stores the result on the clip). Torch-free."""
from __future__ import annotations

from collections.abc import Hashable, Iterable

from app.datasets.split import SplitName, place_new_clips

__all__ = ["SplitName", "stratified_split"]


def stratified_split(items: Iterable[tuple[str, Hashable]], *, test_fraction: float = 0.2) -> dict[str, SplitName]:
    """items: (clip key, stratum), e.g. (key, (scene, expression)) → key → split."""
    return place_new_clips(items, test_share=test_fraction)
