"""The stable stratified split (pure)."""
from collections import Counter

import pytest

from app.datasets.split import place_new_clips


def _items(n, stratum=("DailyLife", "Happy"), prefix="c"):
    return [(f"{prefix}{i:04d}", stratum) for i in range(n)]


def test_a_fresh_split_has_the_exact_share_per_stratum():
    items = _items(50) + _items(30, ("War", "Sad"), "w")
    out = place_new_clips(items, test_share=0.2)
    by = Counter((s, out[k]) for k, s in items)
    assert by[(("DailyLife", "Happy"), "test")] == 10 and by[(("War", "Sad"), "test")] == 6


def test_new_clips_fill_the_stratum_up_to_its_share_and_move_nobody():
    first = place_new_clips(_items(40), test_share=0.2)
    placed = {("DailyLife", "Happy"): (sum(v == "train" for v in first.values()),
                                       sum(v == "test" for v in first.values()))}
    assert placed[("DailyLife", "Happy")] == (32, 8)
    new = [(f"n{i:03d}", ("DailyLife", "Happy")) for i in range(10)]
    more = place_new_clips(new, placed=placed, test_share=0.2)
    assert set(more) == {k for k, _ in new}  # only the new clips are placed
    assert sum(v == "test" for v in more.values()) == 2  # round(0.2 * 50) - 8


def test_a_stratum_with_too_many_test_clips_gets_only_train():
    more = place_new_clips(_items(3), placed={("DailyLife", "Happy"): (0, 10)}, test_share=0.2)
    assert set(more.values()) == {"train"}


def test_the_seed_changes_the_choice_and_the_order_does_not():
    items = _items(100)
    a = place_new_clips(items, seed=0)
    assert a == place_new_clips(list(reversed(items)), seed=0)
    assert a != place_new_clips(items, seed=7)


def test_bad_share_is_refused():
    with pytest.raises(ValueError, match="test share"):
        place_new_clips(_items(2), test_share=-0.1)


def test_small_strata_still_give_a_test_set_of_the_share():
    # 22 scenes with one clip each: rounding each stratum alone gave no test clip at all.
    items = [(f"c{i:02d}", (f"scene{i}", "Happy")) for i in range(22)]
    out = place_new_clips(items, test_share=0.2)
    assert sum(v == "test" for v in out.values()) == round(0.2 * 22)
    # Strata of 3: each within one clip of its share (0.6), the whole exact.
    items = [(f"k{i:03d}", (f"scene{i // 3}", "Sad")) for i in range(30)]
    out = place_new_clips(items, test_share=0.2)
    per = Counter(s for k, s in items if out[k] == "test")
    assert sum(per.values()) == 6 and max(per.values()) == 1
