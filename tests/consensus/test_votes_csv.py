import csv
import json

import pytest

from app.consensus.aggregators import AggregationError
from app.consensus.votes_csv import (
    VotesFileError,
    accuracy_against,
    aggregate_file,
    read_truth,
    read_votes,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def answers(tmp_path, tiny_rows):
    lines = ["question,worker,answer"] + [",".join(r) for r in tiny_rows]
    return write(tmp_path / "answers.csv", "\n".join(lines) + "\n")


def test_read_both_headers_any_column_order_extra_columns_and_bom(tmp_path):
    a = read_votes(write(tmp_path / "a.csv", "question,worker,answer\nq1,u,0\nq1,v,1\n"))
    b = read_votes(write(tmp_path / "b.csv", "\ufefflabel,time,worker,task\n0,3,u,q1\n1,4,v,q1\n"))
    assert a.item_names == b.item_names == ("q1",)
    assert a.labels.tolist() == b.labels.tolist() == [0, 1]
    assert b.worker_names == ("u", "v")


def test_any_label_set(tmp_path):
    v = read_votes(write(tmp_path / "t.csv", "task,worker,label\n42_0,A,before\n42_0,B,after\n\n"))
    assert v.label_names == ("after", "before")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("\n\n", "is empty"),
        ("item,annotator,value\nq,u,0\n", "bad header"),
        ("task,worker\nq,u\n", "bad header"),
        ("task,worker,label\n", "no rows"),
        ("task,worker,label\nq,u,0\nq,v\n", "line 3: expected 3 fields"),
        ("task,worker,label\nq,u,0\nr,u,1\n", "single annotator"),
    ],
)
def test_bad_votes_files(tmp_path, content, message):
    path = write(tmp_path / "v.csv", content)
    with pytest.raises(VotesFileError, match=message):
        read_votes(path)


def test_missing_file_is_a_clear_typed_error(tmp_path):
    with pytest.raises(VotesFileError, match="votes file not found"):
        read_votes(tmp_path / "nope.csv")
    with pytest.raises(VotesFileError, match="truth file not found"):
        read_truth(tmp_path / "nope.csv")
    assert issubclass(VotesFileError, AggregationError)


@pytest.mark.parametrize("header", ["question,truth", "task,label", "task,truth", "truth,question"])
def test_read_truth_headers(tmp_path, header):
    cols = header.split(",")
    row = {"question": "q1", "task": "q1", "truth": "x", "label": "x"}
    path = write(tmp_path / "t.csv", f"{header}\n{','.join(row[c] for c in cols)}\n")
    assert read_truth(path) == {"q1": "x"}
    with pytest.raises(VotesFileError, match="bad header"):
        read_truth(write(tmp_path / "bad.csv", "question,answer\nq1,x\n"))


def test_aggregate_file_writes_atomically_and_measures_accuracy(tmp_path, answers):
    # i4 is "b" in truth: DS gets it (it discounts the spammer w4), MV does not.
    truth = write(tmp_path / "truth.csv", "question,truth\ni1,a\ni2,b\ni4,b\nnot-voted,a\n")
    out = tmp_path / "out" / "labels.csv"
    result = aggregate_file(answers, "ds", gold_path=truth, out_path=out)
    assert set(result) == {"method", "items", "votes", "accuracy", "seconds"}
    assert result["method"] == "ds" and result["items"] == 6 and result["votes"] == 20
    assert result["accuracy"] == 1.0  # over i1, i2, i4 (the items in both files)
    assert result["seconds"] >= 0
    json.dumps(result)
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["task", "label", "confidence"]
    assert [r[:2] for r in rows[1:]] == [["i1", "a"], ["i2", "b"], ["i3", "c"], ["i4", "b"],
                                        ["i5", "c"], ["i6", "a"]]
    assert all(0 < float(r[2]) <= 1 for r in rows[1:])
    assert [p.name for p in out.parent.iterdir()] == ["labels.csv"]  # no temp file left

    mv = aggregate_file(answers, "mv", gold_path=truth, out_path=out)  # overwrites
    assert mv["accuracy"] == pytest.approx(2 / 3)
    assert list(csv.reader(out.open()))[4][1] == "a"


def test_aggregate_file_without_gold_or_output(answers, tmp_path):
    result = aggregate_file(answers, "mv")
    assert result["accuracy"] is None
    assert list(tmp_path.glob("*.csv")) == [answers]


def test_aggregate_file_errors_before_writing(tmp_path, answers):
    out = tmp_path / "out.csv"
    with pytest.raises(AggregationError, match="unknown aggregation method"):
        aggregate_file(answers, "bogus", out_path=out)
    with pytest.raises(VotesFileError, match="not found"):
        aggregate_file(tmp_path / "missing.csv", "ds", out_path=out)
    assert not out.exists()


def test_accuracy_against():
    assert accuracy_against({"a": "x", "b": "y"}, {"a": "x", "b": "x", "c": "x"}) == 0.5
    assert accuracy_against({"a": "x"}, {"z": "x"}) is None
