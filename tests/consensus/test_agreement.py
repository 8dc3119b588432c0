import math

import numpy as np
import pytest

from app.consensus.agreement import fleiss_kappa, kappa_per_category, krippendorff_alpha, vote_counts
from app.consensus.aggregators import AggregationError, Votes

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories.
WIKIPEDIA = [
    [0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7],
]

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal
# example: 4 observers, 12 units, values 1-5, None = missing. alpha = 0.743.
KRIPPENDORFF = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def krippendorff_counts():
    counts = np.zeros((12, 5))
    for observer in KRIPPENDORFF:
        for unit, value in enumerate(observer):
            if value is not None:
                counts[unit, value - 1] += 1
    return counts


def test_fleiss_wikipedia_example():
    assert fleiss_kappa(WIKIPEDIA) == pytest.approx(0.2099, abs=1e-4)


def test_krippendorff_published_example_with_missing_values():
    assert krippendorff_alpha(krippendorff_counts()) == pytest.approx(0.743, abs=5e-4)


def test_varying_number_of_votes_by_hand():
    counts = [[2, 0], [1, 2], [0, 1]]  # the last item has one vote: left out
    # P = (1 + 1/3)/2 = 2/3, p = (3/5, 2/5), Pe = 13/25 -> kappa = 11/36
    assert fleiss_kappa(counts) == pytest.approx(11 / 36)
    # o = [[2, 1], [1, 1]], n = 5 -> alpha = 1 - 4 * 2 / 12 = 1/3
    assert krippendorff_alpha(counts) == pytest.approx(1 / 3)


def test_perfect_agreement_disagreement_and_undefined():
    assert fleiss_kappa([[3, 0], [0, 3]]) == pytest.approx(1.0)
    assert krippendorff_alpha([[3, 0], [0, 3]]) == pytest.approx(1.0)
    assert fleiss_kappa([[1, 1], [1, 1]]) == pytest.approx(-1.0)
    assert math.isnan(fleiss_kappa([[3, 0], [2, 0]]))  # one label only
    assert math.isnan(krippendorff_alpha([[3, 0], [2, 0]]))
    assert math.isnan(fleiss_kappa([[1, 0], [0, 1]]))  # no item with two votes


def test_votes_input_equals_counts_input():
    rows = [(f"i{u}", f"o{o}", str(v)) for o, obs in enumerate(KRIPPENDORFF)
            for u, v in enumerate(obs) if v is not None]
    votes = Votes.from_rows(rows, label_names=["1", "2", "3", "4", "5"])
    assert krippendorff_alpha(votes) == pytest.approx(krippendorff_alpha(krippendorff_counts()))
    assert fleiss_kappa(votes) == pytest.approx(fleiss_kappa(krippendorff_counts()))


@pytest.mark.parametrize("bad", [[1, 2, 3], [[1, -1], [0, 2]], [[0.5, 1], [1, 1]], [[1], [2]]])
def test_bad_counts_raise(bad):
    with pytest.raises(AggregationError):
        vote_counts(bad)


def test_kappa_per_category_matches_fleiss_for_constant_raters():
    counts = np.array([[3, 0], [2, 1], [0, 3], [1, 2], [3, 0]])
    k = kappa_per_category(counts)
    p = counts.sum(0) / counts.sum()
    # With two categories both per-category kappas equal the overall kappa.
    assert k == pytest.approx([fleiss_kappa(counts)] * 2)
    assert (p * (1 - p) * k).sum() / (p * (1 - p)).sum() == pytest.approx(fleiss_kappa(counts))
