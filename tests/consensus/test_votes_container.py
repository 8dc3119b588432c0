import numpy as np
import pytest

from app.consensus.aggregators import AggregationError, Votes


def test_from_rows_codes_in_order_of_appearance_and_sorted_labels():
    v = Votes.from_rows([("x", "ann2", "sad"), ("y", "ann1", "happy"), ("x", "ann1", "sad")])
    assert v.item_names == ("x", "y")
    assert v.worker_names == ("ann2", "ann1")
    assert v.label_names == ("happy", "sad")  # sorted: tie-breaks never depend on row order
    assert v.items.tolist() == [0, 1, 0]
    assert v.workers.tolist() == [0, 1, 1]
    assert v.labels.tolist() == [1, 0, 1]
    assert (v.n_votes, v.n_items, v.n_workers, v.n_labels) == (3, 2, 2, 2)
    assert v.counts().tolist() == [[0, 2], [1, 0]]


def test_from_rows_with_a_fixed_label_set_keeps_unused_labels():
    v = Votes.from_rows([("x", "a", "fear"), ("x", "b", "sad")], label_names=["angry", "fear", "sad"])
    assert v.label_names == ("angry", "fear", "sad")
    assert v.labels.tolist() == [1, 2]
    with pytest.raises(AggregationError, match="not one of the labels"):
        Votes.from_rows([("x", "a", "joy"), ("x", "b", "sad")], label_names=["fear", "sad"])


def test_from_columns_accepts_both_spellings_and_names_a_missing_column():
    a = Votes.from_columns({"task": ["t"] * 2, "worker": ["u", "v"], "label": ["0", "1"]})
    b = Votes.from_columns({"question": ["t"] * 2, "worker": ["u", "v"], "answer": ["0", "1"]})
    assert a.labels.tolist() == b.labels.tolist() == [0, 1]
    with pytest.raises(AggregationError, match="missing column for worker"):
        Votes.from_columns({"task": ["t"], "label": ["0"]})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(items=[], workers=[], labels=[]), "no votes"),
        (dict(items=[0, 0], workers=[0, 0], labels=[0, 1]), "single annotator"),
        (dict(items=[0, 0], workers=[0, 1], labels=[0, 2]), "label code out of range"),
        (dict(items=[0, 0], workers=[0, -1], labels=[0, 1]), "worker code out of range"),
        (dict(items=[0, 1], workers=[0, 1], labels=[0, 1], item_names=("a",)), "item code out of range"),
        (dict(items=[0, 0], workers=[0, 1], labels=[0]), "differ in length"),
        (dict(items=[0.0, 0.0], workers=[0, 1], labels=[0, 1]), "integer codes"),
        (dict(items=[0, 0], workers=[0, 1], labels=[0, 0], label_names=("x",)), "at least two labels"),
        (dict(items=[0, 0], workers=[0, 1], labels=[0, 1], worker_names=("u", "u")), "duplicates"),
    ],
)
def test_invalid_votes_raise_a_typed_error(kwargs, message):
    base = dict(item_names=("a", "b"), worker_names=("u", "v"), label_names=("x", "y"))
    base.update(kwargs)
    with pytest.raises(AggregationError, match=message):
        Votes(**base)


def test_empty_rows_and_wrong_row_width():
    with pytest.raises(AggregationError, match="no rows"):
        Votes.from_rows([])
    with pytest.raises(AggregationError, match="expected 3 fields"):
        Votes.from_rows([("a", "b")])


def test_aggregation_error_is_a_value_error_and_arrays_are_read_only(tiny):
    assert issubclass(AggregationError, ValueError)
    with pytest.raises(ValueError):
        tiny.labels[0] = 1


def test_encode_gold_ignores_unknown_items_and_rejects_unknown_labels(tiny):
    codes = tiny.encode_gold({"i2": "b", "nope": "a"})
    assert codes.tolist() == [-1, 1, -1, -1, -1, -1]
    with pytest.raises(AggregationError, match="not one of the labels"):
        tiny.encode_gold({"i1": "zzz"})


def test_items_without_votes_are_allowed():
    v = Votes(np.array([0, 0]), np.array([0, 1]), np.array([0, 1]), ("a", "b"), ("u", "v"), ("x", "y"))
    assert v.n_items == 2 and v.counts()[1].sum() == 0
