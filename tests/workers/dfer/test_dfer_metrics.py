"""WAR / UAR / confusion on a hand-made example with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest

from workers.dfer.metrics import confusion_matrix, entropy, recalls, scores, scores_by, uar, war

# 3 classes: class 0 → 1 of 2 right, class 1 → 2 of 3 right, class 2 → 1 of 1 right.
Y_TRUE = [0, 0, 1, 1, 1, 2]
Y_PRED = [0, 1, 1, 1, 0, 2]


def test_confusion_rows_are_truth_columns_are_predictions():
    assert confusion_matrix(Y_TRUE, Y_PRED, 3).tolist() == [[1, 1, 0], [1, 2, 0], [0, 0, 1]]


def test_war_is_accuracy_and_uar_the_mean_recall():
    cm = confusion_matrix(Y_TRUE, Y_PRED, 3)
    assert war(cm) == pytest.approx(4 / 6)
    assert recalls(cm).tolist() == pytest.approx([1 / 2, 2 / 3, 1.0])
    assert uar(cm) == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)


def test_uar_ignores_classes_absent_from_the_truth():
    cm = confusion_matrix([0, 1], [0, 0], 4)  # classes 2, 3 never occur
    assert math.isnan(recalls(cm)[2])
    assert uar(cm) == pytest.approx(0.5)


def test_scores_by_group():
    groups = ["a", "a", "b", "b", "b", "a"]
    by = scores_by(groups, Y_TRUE, Y_PRED, 3)
    assert list(by) == ["a", "b"]
    assert by["a"].n == 3 and by["a"].war == pytest.approx(2 / 3)  # 0→0 ✓, 0→1 ✗, 2→2 ✓
    assert by["a"].uar == pytest.approx((0.5 + 1.0) / 2)
    assert by["b"].confusion == [[0, 0, 0], [1, 2, 0], [0, 0, 0]]
    assert scores(Y_TRUE, Y_PRED, 3).n == 6


def test_labels_out_of_range_are_a_clear_error():
    with pytest.raises(ValueError, match="outside 0..2"):
        confusion_matrix([0, 3], [0, 0], 3)
    with pytest.raises(ValueError, match="labels"):
        confusion_matrix([0, 1], [0], 3)


def test_entropy_in_nats():
    probs = np.array([[1.0, 0, 0, 0, 0, 0, 0], np.full(7, 1 / 7)])
    assert entropy(probs).tolist() == pytest.approx([0.0, math.log(7)], abs=1e-9)
