"""The stable stratified split: proportions per scene × expression, and
adding clips barely moves existing ones."""
from __future__ import annotations

import subprocess
import sys
from collections import Counter

import pytest

from workers.dfer.split import stratified_split


def items(n_per: int, strata=(("Speech", "happy"), ("Speech", "sad"), ("War", "happy"))):
    return [(f"{s[0]}/{s[1]}/{i:04d}", s) for s in strata for i in range(n_per)]


def test_each_stratum_gets_its_share_of_test_clips():
    split = stratified_split(items(50), test_fraction=0.2)
    per = Counter((k.rsplit("/", 1)[0], v) for k, v in split.items())
    for s in ("Speech/happy", "Speech/sad", "War/happy"):
        assert per[(s, "test")] == 10 and per[(s, "train")] == 40


def test_same_input_same_split_regardless_of_order():
    a = stratified_split(items(30))
    b = stratified_split(list(reversed(items(30))))
    assert a == b


def test_adding_clips_barely_moves_existing_ones():
    before = stratified_split(items(40))
    one_more = stratified_split(items(41))
    assert sum(before[k] != one_more[k] for k in before) <= 3  # at most one per stratum
    five_more = stratified_split(items(45))
    assert sum(before[k] != five_more[k] for k in before) <= 15
    assert sum(v == "test" for v in five_more.values()) == 27  # 3 × round(0.2 · 45)
    untouched = stratified_split(items(40) + [("War/sad/0000", ("War", "sad"))])
    assert all(untouched[k] == before[k] for k in before)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="twice"):
        stratified_split([("a", 1), ("a", 1)])
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split([("a", 1)], test_fraction=1.5)


def test_split_needs_no_torch():
    code = "import sys, workers.dfer.split; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
