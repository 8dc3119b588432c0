"""`fervlab aggregate` end to end against crowd-kit's read_csv + fit_predict.

    .venv/bin/python bench/aggregate.py [--repeats 3] [--write]

A synthetic FERV39k-sized votes file: 38,935 clips x 30 votes = 1,168,050
votes from 300 annotators of varied skill with confusable-expression errors,
sloppy annotators and spammers (bench/consensus.py `make_crowd`), written as
`task,worker,label`. For Dawid-Skene and majority vote, in the same run:

- fervlab: `python -m app.cli aggregate FILE --method M --out OUT` timed from
  the outside (interpreter start, imports, read, fit, write: end to end);
- crowd-kit: `pd.read_csv` + `fit_predict` timed inside its own process
  (crowd-kit's interpreter start and imports are not counted);
- the reader as it was before (csv.reader row by row + Votes.from_rows) and
  the reader now, in this process, for the read alone.

Then the same on the real crowd sets in ../shared/crowd. crowd-kit runs from
var/bench-ckvenv (created by bench/consensus.py's `ensure_crowdkit` when
missing); it is used here only, never by the application. Figures are medians
of `--repeats` interleaved runs.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.consensus import CK_VENV, CROWD_SETS, SHARED, ensure_crowdkit, machine, replace_section, write_crowd  # noqa: E402

METHODS = {"ds": "DawidSkene(n_iter=100)", "mv": "MajorityVote()"}
TITLE = "`fervlab aggregate` end to end vs crowd-kit (1.17M votes)"


def crowdkit_run(method: str, votes_csv: str) -> dict:
    """Worker mode, run by crowd-kit's interpreter."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene, MajorityVote  # noqa: F401

    started, cpu = time.perf_counter(), time.process_time()
    df = pd.read_csv(votes_csv, dtype=str)
    if "question" in df.columns:
        df = df.rename(columns={"question": "task", "answer": "label"})
    read = time.perf_counter() - started
    eval(METHODS[method]).fit_predict(df)  # noqa: S307 - two fixed expressions above
    return {"read": read, "total": time.perf_counter() - started, "cpu": time.process_time() - cpu}


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ours_end_to_end(method: str, votes_csv: Path, out: Path) -> dict:
    """Wall and CPU seconds of the whole command (CPU time is what a shared,
    loaded machine distorts least)."""
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run([sys.executable, "-m", "app.cli", "aggregate", str(votes_csv), "--method", method,
                    "--out", str(out)], check=True, cwd=ROOT, capture_output=True, env=_env())
    return {"total": time.perf_counter() - started, "cpu": _children_cpu() - cpu}


def _env() -> dict:
    import os

    return {**os.environ, "PYTHONPATH": str(ROOT)}


def theirs(ck_python: str, method: str, votes_csv: Path) -> dict:
    proc = subprocess.run([ck_python, str(Path(__file__).resolve()), "--crowdkit", method, str(votes_csv)],
                          check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def reader_before(path: Path):
    """The reader as it was: csv.reader row by row, then Votes.from_rows."""
    from app.consensus.aggregators import Votes

    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        names = [c.strip().lower() for c in next(reader)]
        index = [names.index(c) for c in ("task", "worker", "label")]
        rows = [tuple(row[i].strip() for i in index) for row in reader if row]
    return Votes.from_rows(rows)


def timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def measure(votes_csv: Path, ck_python: str, repeats: int, work: Path) -> dict:
    from app.consensus.votes_csv import read_votes

    out: dict = {}
    for method in METHODS:
        runs: dict[str, list[float]] = {k: [] for k in ("ours", "ours_cpu", "ck", "ck_cpu", "ck_read")}
        for _ in range(repeats):  # interleaved, so load on the machine hits both alike
            r = ours_end_to_end(method, votes_csv, work / f"out-{method}.csv")
            runs["ours"].append(r["total"])
            runs["ours_cpu"].append(r["cpu"])
            r = theirs(ck_python, method, votes_csv)
            runs["ck"].append(r["total"])
            runs["ck_cpu"].append(r["cpu"])
            runs["ck_read"].append(r["read"])
        out[method] = {k: statistics.median(v) for k, v in runs.items()}
        out[method]["ratio"] = out[method]["ck"] / out[method]["ours"]
        out[method]["ratio_cpu"] = out[method]["ck_cpu"] / out[method]["ours_cpu"]
    out["read_before"] = statistics.median(timed(reader_before, votes_csv) for _ in range(repeats))
    out["read_now"] = statistics.median(timed(read_votes, votes_csv) for _ in range(repeats))
    return out


def section(big: dict, real: dict, info: dict, repeats: int) -> str:
    import os

    lines = [
        f"{dt.date.today().isoformat()}, {machine()}, load average {os.getloadavg()[0]:.1f} "
        "(the machine was shared with other sessions; compare the ratios, measured in the same run). "
        f"crowd-kit {info['crowdkit']} from `var/bench-ckvenv`. Medians of {repeats} interleaved runs.", "",
        "    .venv/bin/python bench/aggregate.py --repeats " + str(repeats) + " --write", "",
        f"Synthetic file: {info['votes']:,} votes, {info['items']:,} clips x 30, {info['workers']} annotators "
        "(careful, sloppy and spamming; bench/consensus.py `make_crowd`).", "",
        "| method | fervlab end to end: wall / CPU (s) | crowd-kit read_csv + fit_predict: wall / CPU (s) "
        "| of which read_csv, wall (s) | crowd-kit / fervlab, wall | crowd-kit / fervlab, CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for method in METHODS:
        r = big[method]
        lines.append(f"| {method} | {r['ours']:.2f} / {r['ours_cpu']:.2f} | {r['ck']:.2f} / {r['ck_cpu']:.2f} | "
                     f"{r['ck_read']:.2f} | {r['ratio']:.1f}x | **{r['ratio_cpu']:.1f}x** |")
    lines += ["", f"Reading the votes file alone in one process: the row-by-row csv reader as it was "
              f"{big['read_before']:.2f} s, the column-wise reader now {big['read_now']:.2f} s "
              f"({big['read_before'] / big['read_now']:.1f}x).", "",
              "fervlab's figures count starting Python and importing the CLI (CPU time of the whole "
              "process); crowd-kit's do not (CPU time of read_csv + fit_predict inside its process).", "",
              "Real crowd sets (../shared/crowd), Dawid-Skene, one run each:", "",
              "| set | votes | fervlab end to end: wall / CPU (s) | crowd-kit read_csv + fit_predict: wall / CPU (s) |",
              "|---|---:|---:|---:|"]
    for name, r in real.items():
        lines.append(f"| {name} | {r['votes']:,} | {r['ours']['total']:.2f} / {r['ours']['cpu']:.2f} | "
                     f"{r['crowdkit']['total']:.2f} / {r['crowdkit']['cpu']:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--crowdkit", nargs=2, metavar=("METHOD", "CSV"), help=argparse.SUPPRESS)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--write", action="store_true", help="put the table in BENCHMARKS.md")
    args = ap.parse_args()
    if args.crowdkit:
        print(json.dumps(crowdkit_run(*args.crowdkit)))
        return
    version = ensure_crowdkit()
    if version is None:
        sys.exit(f"crowd-kit is not usable from {CK_VENV}")
    ck_python = str(CK_VENV / "bin" / "python")
    with tempfile.TemporaryDirectory(prefix="fervlab-bench-aggregate-") as tmp:
        work = Path(tmp)
        votes_csv = work / "votes.csv"
        info = write_crowd(work / "votes.npz", votes_csv, work / "truth.csv", n_items=38_935, n_workers=300,
                           overlap=30, seed=0)
        info["crowdkit"] = version
        big = measure(votes_csv, ck_python, args.repeats, work)
        real = {}
        for name in CROWD_SETS:
            path = SHARED / "crowd" / name / "answers.csv"
            if path.is_file():
                real[name] = {"votes": sum(1 for _ in path.open()) - 1,
                              "ours": ours_end_to_end("ds", path, work / f"{name}.csv"),
                              "crowdkit": theirs(ck_python, "ds", path)}
    text = section(big, real, info, args.repeats)
    print(text)
    if args.write:
        bench_md = ROOT / "BENCHMARKS.md"
        old = bench_md.read_text()
        if f"## {TITLE}\n" in old:
            bench_md.write_text(replace_section(old, TITLE, text))
        else:
            bench_md.write_text(old.rstrip("\n") + f"\n\n## {TITLE}\n\n{text}")


if __name__ == "__main__":
    main()
