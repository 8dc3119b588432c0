"""Consensus speed and accuracy: fervlab's aggregators side by side with crowd-kit.

    .venv/bin/python bench/consensus.py            # print the tables
    .venv/bin/python bench/consensus.py --write    # ... and put them in BENCHMARKS.md

Speed: a synthetic FERV39k-sized crowd (86,000 clips, 30 annotators of varied
skill including spammers, 5 votes per clip, 7 expressions with the class shares
of the FERV39k split index). Every method runs in its own subprocess (ours with
this interpreter, crowd-kit with the interpreter of a separate virtual
environment, var/bench-ckvenv, created here if missing), which reports the fit
time, EM rounds, accuracy against the synthetic truth and the process's peak
RSS. Iterative methods run once with their default stopping rule and, for a
like-for-like comparison, once more with exactly as many EM rounds as
crowd-kit used. Accuracy: every method on ../shared/crowd, ours and crowd-kit's
in the same run.

crowd-kit is used here only, never by the application.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / ".." / "shared"
VAR = ROOT / "var" / "bench"
CK_VENV = ROOT / "var" / "bench-ckvenv"
CK_REQUIREMENTS = ["crowd-kit==1.4.2", "scikit-learn<1.6", "pandas"]
METHODS = ["mv", "wawa", "ds", "onecoin", "glad", "mace"]
CROWD_SETS = ["bluebirds", "rte", "temp"]

# Class counts of the FERV39k split index (train_All + test_All, 38,935 clips).
FERV39K_COUNTS = {
    "angry": 7393, "disgust": 2300, "fear": 2111, "happy": 7327,
    "neutral": 9748, "sad": 6916, "surprise": 3140,
}
# Expressions people mix up, where a careful annotator's errors mostly go.
CONFUSABLE = {
    "angry": ("disgust", "sad"), "disgust": ("angry", "sad"), "fear": ("surprise", "sad"),
    "happy": ("neutral", "surprise"), "neutral": ("sad", "happy"), "sad": ("neutral", "fear"),
    "surprise": ("fear", "happy"),
}


# ----------------------------------------------------------------------------
# synthetic crowd
# ----------------------------------------------------------------------------
def make_crowd(n_items: int = 86_000, n_workers: int = 30, overlap: int = 5, seed: int = 0):
    """Synthetic FERV39k-like crowd: (items, workers, labels, truth, kinds, labels names).

    Workers: 60% careful (accuracy 0.70-0.92, errors mostly to confusable
    expressions), 20% sloppy (0.45-0.65, errors lean to "neutral"), 13% uniform
    spammers, the rest constant spammers (always "neutral" or always "happy").
    Workloads vary (log-normal); each clip goes to ``overlap`` distinct workers.
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    names = list(FERV39K_COUNTS)
    k = len(names)
    shares = np.array(list(FERV39K_COUNTS.values()), dtype=float)
    truth = rng.choice(k, n_items, p=shares / shares.sum())

    n_careful = round(0.6 * n_workers)
    n_sloppy = round(0.2 * n_workers)
    n_uniform = max(1, round(0.13 * n_workers))
    n_constant = n_workers - n_careful - n_sloppy - n_uniform
    kinds = ["careful"] * n_careful + ["sloppy"] * n_sloppy + ["uniform"] * n_uniform + ["constant"] * n_constant
    neutral = names.index("neutral")
    confusions = np.zeros((n_workers, k, k))
    for w, kind in enumerate(kinds):
        if kind == "uniform":
            confusions[w] = 1.0 / k
            continue
        if kind == "constant":
            confusions[w, :, neutral if (w % 2 == 0) else names.index("happy")] = 1.0
            continue
        acc = rng.uniform(0.70, 0.92) if kind == "careful" else rng.uniform(0.45, 0.65)
        for t in range(k):
            row = np.full(k, 0.3 * (1 - acc) / (k - 1))
            if kind == "careful":
                for other in CONFUSABLE[names[t]]:
                    row[names.index(other)] += 0.35 * (1 - acc)
            else:
                row[neutral if t != neutral else names.index("sad")] += 0.7 * (1 - acc)
            row[t] = 0.0
            row *= (1 - acc) / row.sum()
            row[t] = acc
            confusions[w, t] = row

    # Each clip to `overlap` distinct workers, busier workers more often (Gumbel top-k).
    workload = rng.lognormal(0.0, 0.5, n_workers)
    keys = np.log(workload) + rng.gumbel(size=(n_items, n_workers))
    assigned = np.argpartition(-keys, overlap - 1, axis=1)[:, :overlap]
    items = np.repeat(np.arange(n_items), overlap)
    workers = assigned.reshape(-1)
    cumulative = confusions[workers, truth[items]].cumsum(axis=1)
    u = rng.random(items.size)[:, None]
    labels = np.minimum((u > cumulative).sum(axis=1), k - 1)
    return items, workers, labels, truth, kinds, names


def write_crowd(path_npz: Path, path_csv: Path, path_truth: Path, **kwargs) -> dict:
    import numpy as np

    items, workers, labels, truth, kinds, names = make_crowd(**kwargs)
    path_npz.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path_npz, items=items, workers=workers, labels=labels, truth=truth,
             names=np.array(names), kinds=np.array(kinds))
    with path_csv.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("task", "worker", "label"))
        w.writerows(zip((f"c{i}" for i in items.tolist()), (f"a{x}" for x in workers.tolist()),
                        (names[x] for x in labels.tolist())))
    with path_truth.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(("task", "truth"))
        w.writerows((f"c{i}", names[t]) for i, t in enumerate(truth.tolist()))
    return {"items": int(truth.size), "votes": int(items.size), "workers": len(kinds),
            "kinds": {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ----------------------------------------------------------------------------
# subprocess workers
# ----------------------------------------------------------------------------
def ours_worker(method: str, npz: Path, settings: dict) -> dict:
    """Fit one of our methods on the synthetic crowd (run in a fresh process)."""
    import tracemalloc

    import numpy as np

    sys.path.insert(0, str(ROOT))
    from app.consensus.aggregators import Votes, get_aggregator

    data = np.load(npz)
    n_items, n_workers = data["truth"].size, int(data["workers"].max()) + 1
    votes = Votes(data["items"], data["workers"], data["labels"],
                  tuple(f"c{i}" for i in range(n_items)), tuple(f"a{w}" for w in range(n_workers)),
                  tuple(str(x) for x in data["names"]))
    base_rss = peak_rss_mb()
    started = time.perf_counter()
    model = get_aggregator(method, **settings).fit(votes)
    seconds = time.perf_counter() - started
    accuracy = float(np.mean(model.labels_ == data["truth"]))
    rss = peak_rss_mb()
    # A second fit, traced, for the peak of what numpy allocated (fresh Votes: no cached layout).
    votes2 = Votes(votes.items.copy(), votes.workers, votes.labels, votes.item_names,
                   votes.worker_names, votes.label_names)
    tracemalloc.start()
    get_aggregator(method, **settings).fit(votes2)
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return {"seconds": seconds, "iterations": getattr(model, "n_iter_", 0), "accuracy": accuracy,
            "peak_rss_mb": rss, "rss_before_fit_mb": base_rss, "traced_peak_mb": traced,
            "load": os.getloadavg()[0]}


def _ck_model(method: str):
    from crowdkit import aggregation as ca

    return {
        "mv": lambda: ca.MajorityVote(),
        "wawa": lambda: ca.Wawa(),
        "ds": lambda: ca.DawidSkene(n_iter=100),
        "onecoin": lambda: ca.OneCoinDawidSkene(n_iter=100),
        "glad": lambda: ca.GLAD(n_iter=100),
        "mace": lambda: ca.MACE(),
    }[method]()


def _ck_rounds(method: str, model) -> int | None:
    if method == "mace":
        return model.n_iter * model.n_restarts  # no early stop in crowd-kit's MACE
    history = getattr(model, "loss_history_", None)
    return len(history) if history is not None else None


def crowdkit_worker(method: str, votes_csv: Path, truth_csv: Path, budget: float) -> dict:
    """Fit one crowd-kit method (run with the crowd-kit venv's python).

    GLAD is timed round by round and stopped once ``budget`` seconds have
    passed (its labels are then read from its posteriors at that point), so a
    loaded machine cannot turn one measurement into an hour.
    """
    import pandas as pd

    df = pd.read_csv(votes_csv, dtype=str)
    truth = pd.read_csv(truth_csv, dtype=str).set_index("task")["truth"]
    base_rss = peak_rss_mb()
    model = _ck_model(method)
    rounds: list[float] = []

    class OverBudget(Exception):
        pass

    if method == "glad":
        m_step = model._m_step

        def timed_m_step(data):
            out = m_step(data)
            rounds.append(time.perf_counter())
            if rounds[-1] - started > budget:
                raise OverBudget
            return out

        model._m_step = timed_m_step
    started = time.perf_counter()
    finished = True
    try:
        labels = model.fit_predict(df)  # crowd-kit's Wawa sets labels_ only in predict
    except OverBudget:
        finished = False
        labels = model.probas_.idxmax(axis=1)
    seconds = time.perf_counter() - started
    predicted = labels.astype(str).reindex(truth.index)
    return {"seconds": seconds, "finished": finished,
            "iterations": _ck_rounds(method, model) if finished else len(rounds),
            "accuracy": float((predicted == truth).mean()), "peak_rss_mb": peak_rss_mb(),
            "rss_before_fit_mb": base_rss, "load": os.getloadavg()[0]}


def crowdkit_shared_worker(shared_crowd: Path) -> dict:
    """crowd-kit accuracy of every method on every shared crowd set."""
    import pandas as pd

    out: dict = {}
    for name in CROWD_SETS:
        df = pd.read_csv(shared_crowd / name / "answers.csv", dtype=str).rename(
            columns={"question": "task", "answer": "label"})
        truth = pd.read_csv(shared_crowd / name / "truth.csv", dtype=str).set_index("question")["truth"]
        out[name] = {}
        for method in METHODS:
            predicted = _ck_model(method).fit_predict(df).astype(str).reindex(truth.index)
            out[name][method] = float((predicted == truth).mean())
    return out


def run_sub(python: str, args: list[str], timeout: float = 900) -> dict:
    """Run this script as a worker in a fresh process; its last stdout line is JSON."""
    try:
        proc = subprocess.run([python, str(Path(__file__).resolve()), *args], capture_output=True,
                              text=True, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout:.0f} s"}
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        return {"error": f"exit code {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def ensure_crowdkit() -> str | None:
    python = CK_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {CK_VENV} for crowd-kit ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(CK_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *CK_REQUIREMENTS], check=True)
    check = subprocess.run([str(python), "-c", "import crowdkit, importlib.metadata as m;"
                            "print(m.version('crowd-kit'))"], capture_output=True, text=True)
    if check.returncode != 0:
        print(f"crowd-kit unusable in {CK_VENV}: {check.stderr[-500:]}", file=sys.stderr)
        return None
    return check.stdout.strip()


# ----------------------------------------------------------------------------
# in-process measurements
# ----------------------------------------------------------------------------
def incremental_latency(npz: Path, n_calls: int = 20_000) -> dict:
    """Latency of ConsensusModel.posterior for one 5-vote clip, after a JSON round trip."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from app.consensus.aggregators import ConsensusModel, Votes, get_aggregator

    data = np.load(npz)
    n_items, n_workers = data["truth"].size, int(data["workers"].max()) + 1
    names = tuple(str(x) for x in data["names"])
    votes = Votes(data["items"], data["workers"], data["labels"],
                  tuple(f"c{i}" for i in range(n_items)), tuple(f"a{w}" for w in range(n_workers)), names)
    fitted = get_aggregator("ds").fit(votes)
    blob = json.dumps(fitted.export_params())
    model = ConsensusModel.from_params(json.loads(blob))
    rng = np.random.default_rng(1)
    clips = rng.integers(0, n_items, n_calls)
    per_item = [[] for _ in range(n_items)]
    for i, w, lab in zip(data["items"].tolist(), data["workers"].tolist(), data["labels"].tolist()):
        if len(per_item[i]) < 5:
            per_item[i].append((f"a{w}", names[lab]))
    agree = 0
    timings = np.empty(n_calls)
    for n, clip in enumerate(clips.tolist()):
        t0 = time.perf_counter()
        post = model.posterior(per_item[clip])
        timings[n] = time.perf_counter() - t0
        agree += max(post, key=post.get) == names[fitted.labels_[clip]]
    return {"median_us": float(np.median(timings) * 1e6), "p99_us": float(np.percentile(timings, 99) * 1e6),
            "max_us": float(timings.max() * 1e6), "calls": n_calls, "json_kb": len(blob) / 1024,
            "agrees_with_full_fit": agree / n_calls}


def ours_shared_accuracy() -> dict:
    sys.path.insert(0, str(ROOT))
    from app.consensus.aggregators import get_aggregator
    from app.consensus.votes_csv import accuracy_against, read_truth, read_votes

    out: dict = {}
    for name in CROWD_SETS:
        votes = read_votes(SHARED / "crowd" / name / "answers.csv")
        truth = read_truth(SHARED / "crowd" / name / "truth.csv")
        out[name] = {m: accuracy_against(get_aggregator(m).fit(votes).predicted_names(), truth)
                     for m in METHODS}
    return out


def aggregate_file_timing(votes_csv: Path, truth_csv: Path) -> dict:
    sys.path.insert(0, str(ROOT))
    from app.consensus.votes_csv import aggregate_file

    return aggregate_file(votes_csv, "ds", gold_path=truth_csv, out_path=VAR / "synthetic_ds.csv")


# ----------------------------------------------------------------------------
# report
# ----------------------------------------------------------------------------
def machine() -> str:
    sys.path.insert(0, str(ROOT))
    from bench.machine import cpu_model

    return f"`{platform.machine()}`, {os.cpu_count()} CPUs (`nproc`), {cpu_model()}, Python {platform.python_version()}"


def fmt(x, spec=".2f", none="—"):
    return none if x is None else format(x, spec)


def speed_section(info: dict) -> str:
    rows = info["rows"]
    lines = [
        f"Measured {info['date']} on {info['machine']}; numpy {info['numpy']}, crowd-kit {info['crowdkit'] or 'not run'}.",
        f"Command: `{info['command']}`",
        "",
        f"Synthetic FERV39k-sized crowd (`make_crowd` in bench/consensus.py, seed 0): {info['crowd']['items']:,} clips, "
        f"{info['crowd']['workers']} annotators ({', '.join(f'{v} {k}' for k, v in info['crowd']['kinds'].items())}), "
        f"{info['crowd']['votes']:,} votes, 7 expressions. Each fit runs in a fresh process; "
        "time is `fit` only (crowd-kit: `fit_predict`; data already in memory); peak RSS is the whole process's "
        "(interpreter, libraries and data included); \"traced\" is the peak of what numpy allocated during our fit (tracemalloc).",
        "",
        "| method | settings | EM rounds | fit (s) | accuracy | peak RSS (MB) | traced (MB) | crowd-kit fit (s) | crowd-kit rounds | crowd-kit accuracy | crowd-kit peak RSS (MB) | speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ours, ck = r["ours"], r.get("ck")
        if "error" in ours:
            lines.append(f"| {r['method']} | {r['settings']} | failed: {ours['error']} |" + " |" * 9)
            continue
        cut = bool(ck) and "error" not in ck and not ck.get("finished", True)
        # A crowd-kit fit stopped at the budget bounds its full time from below,
        # but is exact for the rounds it did.
        at_least = "≥ " if cut and not r.get("same_rounds") else ""
        if not ck:
            ck_cells, speedup = "— | — | — | —", "—"
        elif "error" in ck:
            ck_cells, speedup = f"failed: {ck['error']} | — | — | —", "—"
        else:
            rounds = f"{ck['iterations'] or '—'}" + (" (stopped at the time budget)" if cut else "")
            ck_cells = (f"{at_least}{ck['seconds']:.2f} | {rounds} | {ck['accuracy']:.4f} "
                        f"| {ck['peak_rss_mb']:.0f}")
            speedup = f"{at_least}{ck['seconds'] / ours['seconds']:.0f}×" if ours["seconds"] > 0 else "—"
        lines.append(
            f"| {r['method']} | {r['settings']} | {ours['iterations'] or '—'} | {ours['seconds']:.3f} "
            f"| {ours['accuracy']:.4f} | {ours['peak_rss_mb']:.0f} | {ours['traced_peak_mb']:.0f} "
            f"| {ck_cells} | {speedup} |"
        )
    loads = [x["load"] for r in rows for x in (r["ours"], r.get("ck") or {}) if "load" in x]
    if loads:
        lines += ["", f"1-minute load average when each fit ended: {min(loads):.1f} to {max(loads):.1f} "
                      f"(on {os.cpu_count()} CPUs shared with other work: read ratios, not absolute times)."]
    not_run = [r["method"] for r in rows if r["settings"] == "default" and not r.get("ck")]
    lines += [
        "",
        "Rounds: \"same rounds as crowd-kit\" re-runs ours with early stopping off and exactly as many EM "
        "rounds as crowd-kit took (`len(loss_history_)`; for MACE 50 rounds × 10 restarts, which crowd-kit "
        "always runs). Our default stops when the log-likelihood per vote gains < 1e-5; crowd-kit's when its "
        "ELBO per vote does. GLAD's M-step differs: ours is 3 block Fisher-scoring sweeps per round, "
        "crowd-kit's up to 25 conjugate-gradient steps (scipy).",
    ]
    if not_run:
        lines.append(f"crowd-kit not run here for: {', '.join(not_run)} (`--crowdkit-methods`).")
    inc = info["incremental"]
    agg = info["aggregate_file"]
    lines += [
        "",
        f"Incremental update (`ConsensusModel.posterior`, one clip with its 5 votes, DS parameters after a JSON round trip "
        f"of {inc['json_kb']:.0f} KB): median {inc['median_us']:.0f} µs, p99 {inc['p99_us']:.0f} µs, max {inc['max_us']:.0f} µs "
        f"over {inc['calls']:,} calls; its label equals the full fit's for {inc['agrees_with_full_fit']:.1%} of them.",
        "",
        f"End to end, `aggregate_file` with `ds` on the same crowd as CSV (read {agg['votes']:,} rows, fit, write "
        f"{agg['items']:,} rows): {agg['seconds']:.2f} s, accuracy {agg['accuracy']:.4f}.",
    ]
    return "\n".join(lines)


def accuracy_section(info: dict) -> str:
    ours, ck = info["shared_ours"], info.get("shared_ck")
    lines = [
        f"Measured {info['date']} on {info['machine']}; crowd-kit {info['crowdkit'] or 'not run'} in the same run.",
        f"Command: `{info['command']}`",
        "",
        "Accuracy against the gold truth of ../shared/crowd (all items). Default settings throughout "
        "(ours: `get_aggregator(name)`; crowd-kit: its defaults, `n_iter=100` for DS, one-coin and GLAD). "
        "The default method is **ds**.",
        "",
        "| set | " + " | ".join(f"{m} (ours)" + (f" | {m} (crowd-kit)" if ck else "") for m in METHODS)
        + " | best ours | best crowd-kit |",
        "|---|" + "---|" * (len(METHODS) * (2 if ck else 1) + 2),
    ]
    for name in CROWD_SETS:
        cells = []
        for m in METHODS:
            cells.append(f"{ours[name][m]:.3f}")
            if ck:
                cells.append(f"{ck[name][m]:.3f}")
        best_ours = max(ours[name].values())
        best_ck = fmt(ck and max(ck[name].values()), ".3f")
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {best_ours:.3f} | {best_ck} |")
    return "\n".join(lines)


def replace_section(text: str, title: str, body: str) -> str:
    head = f"## {title}\n"
    start = text.index(head) + len(head)
    nxt = text.find("\n## ", start)
    end = len(text) if nxt < 0 else nxt + 1
    return text[:start] + "\n" + body.strip() + "\n\n" + text[end:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=86_000)
    parser.add_argument("--workers", type=int, default=30)
    parser.add_argument("--overlap", type=int, default=5)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--crowdkit-methods", default="mv,wawa,ds,onecoin,glad",
                        help="crowd-kit methods to time (its GLAD takes minutes at full size; "
                             "its MACE about a minute per 5,000 clips, so it is left out by default)")
    parser.add_argument("--crowdkit-budget", type=float, default=420,
                        help="seconds after which crowd-kit's GLAD is stopped (after a full round)")
    parser.add_argument("--no-crowdkit", action="store_true")
    parser.add_argument("--write", action="store_true", help="update BENCHMARKS.md")
    # internal: one fit in a fresh process
    parser.add_argument("--worker", choices=["ours", "crowdkit", "crowdkit-shared"], help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=420, help=argparse.SUPPRESS)
    args = parser.parse_args()

    npz, votes_csv, truth_csv = VAR / "synthetic.npz", VAR / "synthetic.csv", VAR / "synthetic_truth.csv"
    if args.worker == "ours":
        print(json.dumps(ours_worker(args.method, npz, json.loads(args.settings))))
        return
    if args.worker == "crowdkit":
        print(json.dumps(crowdkit_worker(args.method, votes_csv, truth_csv, args.budget)))
        return
    if args.worker == "crowdkit-shared":
        print(json.dumps(crowdkit_shared_worker(SHARED / "crowd")))
        return

    import numpy as np

    crowd = write_crowd(npz, votes_csv, truth_csv, n_items=args.items, n_workers=args.workers,
                        overlap=args.overlap)
    ck_version = None if args.no_crowdkit else ensure_crowdkit()
    ck_python = str(CK_VENV / "bin" / "python")
    ck_methods = set(args.crowdkit_methods.split(",")) if ck_version else set()

    rows = []
    partial = VAR / "consensus_results.partial.json"
    for method in args.methods.split(","):
        ck = None
        if method in ck_methods:
            print(f"crowd-kit {method} ...", file=sys.stderr, flush=True)
            ck = run_sub(ck_python, ["--worker", "crowdkit", "--method", method,
                                     "--budget", str(args.crowdkit_budget)],
                         timeout=args.crowdkit_budget * 3 + 300)
        print(f"ours {method} ...", file=sys.stderr, flush=True)
        ours = run_sub(sys.executable, ["--worker", "ours", "--method", method])
        rows.append({"method": method, "settings": "default", "ours": ours, "ck": ck})
        if ck and ck.get("iterations") and method in ("ds", "onecoin", "glad", "mace"):
            settings: dict = {"tol": None}
            if method == "mace":
                settings["n_iter"] = ck["iterations"] // 10
                label = f"n_iter={settings['n_iter']}, 10 restarts, no early stop"
            else:
                settings["n_iter"] = ck["iterations"]
                label = f"n_iter={ck['iterations']}, no early stop"
            same = run_sub(sys.executable, ["--worker", "ours", "--method", method,
                                            "--settings", json.dumps(settings)])
            rows.append({"method": method, "settings": f"same rounds as crowd-kit ({label})",
                         "ours": same, "ck": ck, "same_rounds": True})
        partial.write_text(json.dumps(rows, indent=2))

    info = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "numpy": np.__version__,
        "crowdkit": ck_version,
        "command": "python bench/consensus.py " + " ".join(a for a in sys.argv[1:]),
        "crowd": crowd,
        "rows": rows,
        "incremental": incremental_latency(npz),
        "aggregate_file": aggregate_file_timing(votes_csv, truth_csv),
        "shared_ours": ours_shared_accuracy() if (SHARED / "crowd").is_dir() else None,
        "shared_ck": None,
    }
    info["command"] = info["command"].strip()
    if ck_version and info["shared_ours"]:
        print("crowd-kit on ../shared/crowd ...", file=sys.stderr, flush=True)
        shared_ck = run_sub(ck_python, ["--worker", "crowdkit-shared"], timeout=1800)
        info["shared_ck"] = None if "error" in shared_ck else shared_ck
    VAR.mkdir(parents=True, exist_ok=True)
    (VAR / "consensus_results.json").write_text(json.dumps(info, indent=2))

    speed = speed_section(info)
    accuracy = accuracy_section(info) if info["shared_ours"] else "(../shared/crowd absent: not measured)"
    print("## Consensus accuracy\n\n" + accuracy + "\n\n## Consensus speed\n\n" + speed)
    if args.write:
        path = ROOT / "BENCHMARKS.md"
        text = path.read_text()
        text = replace_section(text, "Consensus accuracy", accuracy)
        text = replace_section(text, "Consensus speed", speed)
        path.write_text(text)
        print(f"updated {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
