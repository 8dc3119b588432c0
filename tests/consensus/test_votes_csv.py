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


# --- the vectorised reader gives exactly what the csv-module reader gave ----

def _reference_votes(path):
    """The reader as it was (csv.reader row by row, then Votes.from_rows)."""
    from app.consensus.aggregators import Votes

    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        names = [c.strip().lower() for c in next(reader)]
        cols = next(c for c in (("question", "worker", "answer"), ("task", "worker", "label")) if set(c) <= set(names))
        index = [names.index(c) for c in cols]
        rows = []
        for line, row in enumerate(reader, start=2):
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(names):
                raise VotesFileError(f"{path}, line {line}: expected {len(names)} fields, got {len(row)}")
            rows.append(tuple(row[i].strip() for i in index))
    return Votes.from_rows(rows)


TRICKY = {
    "plain": "task,worker,label\nq1,u,a\nq2,v,b\nq1,v,b\n",
    "crlf_and_blank_lines": "task,worker,label\r\n\r\nq1,u,a\r\n  \r\nq2,v,b\r\nq1,v,b\r\n\r\n",
    "lone_cr": "task,worker,label\rq1,u,a\rq2,v,b\r",
    "bom_and_padding": "\ufeff Task , Worker ,LABEL\n q1 ,\tu, a \nq2, v ,b\n",
    "quotes_and_commas_in_labels": 'task,worker,label\nq1,u,"happy, mostly"\n"q,2",v,"say ""hi"""\nq1,v,b\n',
    "newline_in_a_quoted_field": 'task,worker,label\nq1,u,"two\nlines"\nq1,v,b\n',
    "extra_columns_any_order": "time,label,worker,task,note\n1,a,u,q1,x\n2,b,v,q1,y\n3,a,v,q2,\n",
    "unicode": "task,worker,label\nq\u00e9,\u00fc,\u00e4\nq\u00e9,w,\u00df\n",
    "last_line_without_newline": "question,worker,answer\nq1,u,0\nq1,v,1",
    "empty_fields_and_long_names": "task,worker,label\nq1,,a\nq1,v,\n" + "".join(
        f"item-{i:04d}-with-a-long-name,annotator-{i % 3:02d}-long-id,lab{i % 4}\n" for i in range(40)),
    "grouped_by_item": "task,worker,label\n" + "".join(f"t{i // 5},w{i % 7},l{i % 3}\n" for i in range(60)),
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_fast_reader_matches_the_csv_module_reader(tmp_path, name):
    path = write(tmp_path / f"{name}.csv", TRICKY[name])
    fast, ref = read_votes(path), _reference_votes(path)
    assert (fast.item_names, fast.worker_names, fast.label_names) == (ref.item_names, ref.worker_names,
                                                                      ref.label_names)
    for a, b in ((fast.items, ref.items), (fast.workers, ref.workers), (fast.labels, ref.labels)):
        assert a.tolist() == b.tolist()


@pytest.mark.parametrize("content", [
    "task,worker,label\nq1,u,a\nq2,v\n",  # short row
    "task,worker,label\nq1,u,a\n\nq2,v,b,c\n",  # long row after a blank line
    'task,worker,label\nq1,u,"a"\nq2,v\n',  # the csv path
])
def test_fast_reader_reports_bad_rows_as_the_csv_reader_did(tmp_path, content):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(VotesFileError) as ref:
        _reference_votes(path)
    with pytest.raises(VotesFileError) as fast:
        read_votes(path)
    assert str(fast.value) == str(ref.value) and "line" in str(fast.value)


def test_unreadable_text_is_a_clear_error(tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("task,worker,label\nq\xe9,u,a\n".encode("latin-1"))
    with pytest.raises(VotesFileError, match="not UTF-8"):
        read_votes(bad)


def test_unquoted_files_skip_the_row_by_row_reader(tmp_path, monkeypatch):
    import app.consensus.votes_csv as module

    monkeypatch.setattr(module, "_columns_csv", lambda *a: pytest.fail("the row-by-row reader ran"))
    assert read_votes(write(tmp_path / "v.csv", TRICKY["crlf_and_blank_lines"])).n_votes == 3


def test_results_file_is_what_csv_writer_wrote(tmp_path):
    import io

    from app.consensus.aggregators import Votes, get_aggregator
    from app.consensus.votes_csv import write_results

    for item in ("plain", 'with "quotes", and commas'):
        fitted = get_aggregator("mv").fit(Votes.from_rows([(item, "u", "a"), (item, "v", "a"), ("q2", "u", "b"),
                                                           ("q2", "v", "b")]))
        write_results(tmp_path / "out.csv", fitted)
        expected = io.StringIO()
        writer = csv.writer(expected)
        writer.writerow(("task", "label", "confidence"))
        confidence = fitted.probas_[range(len(fitted.labels_)), fitted.labels_]
        for name, k, p in zip(fitted.item_names_, fitted.labels_.tolist(), confidence.tolist()):
            writer.writerow((name, fitted.label_names_[k], f"{p:.6f}"))
        assert (tmp_path / "out.csv").read_bytes().decode() == expected.getvalue()
