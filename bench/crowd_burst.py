"""A crowd arriving at once: C annotators (100, 300, 1,000) start within one
second, each with a token the server has never seen, and label a campaign
until it is drained.

    .venv/bin/python bench/crowd_burst.py                           # SQLite and PostgreSQL, 100/300/1000
    .venv/bin/python bench/crowd_burst.py --db postgres --annotators 500
    .venv/bin/python bench/crowd_burst.py --markdown                # the table for BENCHMARKS.md

Each annotator opens its own keep-alive connection at a random moment of
the arrival second, then loops `GET /campaigns/{id}/next` → think →
`POST /annotations` until `next` answers 204. A 503 is retried after its
Retry-After (plus up to a second of jitter, as a polite client does); a
connection the server closed is reopened and the call sent again (a vote
sent twice is recognised as a retry). Anything else is an error, counted by
kind. Each level gets a fresh instance and campaign (overlap 3, 5 % gold,
assisted) of `labels per annotator × C / 3` clips, on which the crowd agrees.

Afterwards the database is checked: acknowledged votes that are missing
(lost), a clip over its overlap or one annotator twice on a clip (double),
pool counters that disagree with the votes (drift), clips left short of
their overlap (not drained). The server's own log is searched for
unhandled errors (500s).

"Settled" is the stretch from the moment every annotator has had a first
clip to the first 204 (the pool running dry): labels/s and the latency a
person feels (a call's first attempt to its answer, 503 waits included)
are measured there. The server is uvicorn on the app factory, one process
on SQLite (one writer), two on PostgreSQL, as in bench/labelling_load.py.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.labelling_load import EXPRESSIONS, OVERLAP, Conn, _in_child, _pct, _serve, _stop, bench_env  # noqa: E402
from bench.machine import cpu_model  # noqa: E402

CALL_TIMEOUT_S = 60.0
# An annotator told "nothing for you" looks again this often before leaving
# (adaptive overlap can ask for more votes on a clip a moment later).
EMPTY_LOOKS, EMPTY_WAIT_S = 3, 2.0
# Answers other than 200/201/204/503 an annotator puts up with before leaving.
ERROR_BUDGET = 20


# -- the database afterwards (in a child: fresh settings) ---------------------------

def _check(env: dict, campaign_id: int, acked: list[int]) -> dict:
    os.environ.update(env)
    import sqlalchemy as sa

    from app.core.db import get_engine

    engine = get_engine()
    q = {"c": campaign_id}
    with engine.connect() as c:
        def one(sql: str) -> int:
            return int(c.execute(sa.text(sql), q).scalar_one())

        votes = dict(c.execute(sa.text(
            "SELECT assignment_id, count(*) FROM annotation WHERE campaign_id = :c GROUP BY assignment_id"), q).all())
        row = {
            "labels_in_db": sum(votes.values()),
            "lost_votes": len(set(acked) - set(votes)),
            "double_votes": sum(n - 1 for n in votes.values() if n > 1) + one(
                "SELECT count(*) FROM (SELECT clip_id, user_id FROM annotation WHERE campaign_id = :c "
                "GROUP BY clip_id, user_id HAVING count(*) > 1) t"),
            "over_assigned_clips": one(
                "SELECT count(*) FROM campaignclip WHERE campaign_id = :c AND NOT is_gold AND done > wanted"),
            "counter_drift": one(
                "SELECT count(*) FROM campaignclip cc WHERE campaign_id = :c AND done <> (SELECT count(*) FROM "
                "annotation a WHERE a.campaign_id = cc.campaign_id AND a.clip_id = cc.clip_id)"),
            "clips_short": one(
                "SELECT count(*) FROM campaignclip WHERE campaign_id = :c AND NOT is_gold AND done < wanted"),
        }
    engine.dispose()
    return row


# -- the crowd ------------------------------------------------------------------------

class Log:
    def __init__(self, n: int):
        self.kinds: Counter = Counter()        # outcomes other than a plain answer
        self.acked: list[int] = []             # assignment ids whose vote was acknowledged
        self.done_at: list[float] = []         # label acknowledgement times
        self.felt: list[tuple[float, float]] = []  # (start, seconds) of each answered call, retries included
        self.first_clip: list[float] = [math.nan] * n
        self.first_label: list[float] = [math.nan] * n
        self.dry_at = math.inf


async def _call(conn: Conn, log: Log, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
    """One call as a person's page makes it: 503 → wait Retry-After (+ jitter)
    and again; a closed connection → reopen and again."""
    t0 = time.perf_counter()
    while True:
        try:
            async with asyncio.timeout(CALL_TIMEOUT_S):
                status, payload = await conn.call(method, path, body)
        except TimeoutError:
            log.kinds[f"{method} timeout ({CALL_TIMEOUT_S:g} s)"] += 1
            conn.close()
            await _reopen(conn, log)
            continue
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            log.kinds["connection closed by server (reopened)"] += 1
            await _reopen(conn, log)
            continue
        if status == 503 and "retry-after" in conn.headers:
            log.kinds[f"{method} 503 (retried)"] += 1
            await asyncio.sleep(float(conn.headers["retry-after"]) + random.random())
            continue
        log.felt.append((t0, time.perf_counter() - t0))
        return status, payload


async def _reopen(conn: Conn, log: Log) -> None:
    for attempt in range(20):
        try:
            await conn.open()
            return
        except OSError:
            log.kinds["connect refused (retried)"] += 1
            await asyncio.sleep(min(2.0, 0.1 * 2 ** attempt))
    raise ConnectionError("could not reconnect")


async def _annotator(i: int, port: int, token: str, campaign_id: int, arrive_at: float, think: float,
                     log: Log) -> None:
    rng = random.Random(i)
    await asyncio.sleep(max(0.0, arrive_at - time.perf_counter()))
    conn = Conn("127.0.0.1", port, token)
    await _reopen(conn, log)
    empty = errors = 0
    try:
        while empty < EMPTY_LOOKS and errors < ERROR_BUDGET:
            status, payload = await _call(conn, log, "GET", f"/api/v1/campaigns/{campaign_id}/next")
            if status == 204:
                log.dry_at = min(log.dry_at, time.perf_counter())
                empty += 1
                await asyncio.sleep(EMPTY_WAIT_S)
                continue
            if status != 200:
                log.kinds[f"GET {status}"] += 1
                errors += 1
                await asyncio.sleep(1.0)
                continue
            empty = 0
            if math.isnan(log.first_clip[i]):
                log.first_clip[i] = time.perf_counter() - arrive_at
            lease = json.loads(payload)
            if think:
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
            # The crowd agrees on each clip, so consensus trusts it at 3 votes
            # and the campaign's size is known (random votes would keep asking
            # adaptive overlap for more, up to 7).
            status, payload = await _call(conn, log, "POST", "/api/v1/annotations", {
                "assignment_id": lease["assignment_id"], "expression": EXPRESSIONS[lease["clip_id"] % 7],
                "duration_ms": 1000})
            if status in (200, 201):
                log.acked.append(lease["assignment_id"])
                log.done_at.append(time.perf_counter())
                if math.isnan(log.first_label[i]):
                    log.first_label[i] = time.perf_counter() - arrive_at
            else:
                log.kinds[f"POST {status}"] += 1
                errors += 1
    finally:
        conn.close()


async def _crowd(port: int, tokens: list[str], campaign_id: int, arrival_s: float, think: float) -> tuple[Log, float]:
    log = Log(len(tokens))
    rng = random.Random(len(tokens))
    t_start = time.perf_counter() + 0.2
    await asyncio.gather(*(_annotator(i, port, t, campaign_id, t_start + rng.uniform(0, arrival_s), think, log)
                           for i, t in enumerate(tokens)))
    return log, t_start


def _summary(log: Log, t_start: float, n: int) -> dict:
    end = max(log.done_at, default=t_start)
    firsts = [x for x in log.first_clip if not math.isnan(x)]
    settled_from = t_start + max(firsts) if len(firsts) == n else math.inf
    settled_to = min(log.dry_at, end)
    window = settled_to - settled_from
    if not window > 1.0:  # too short to call settled: the whole run instead
        settled_from, settled_to, window = t_start, end, max(1e-9, end - t_start)
        settled = False
    else:
        settled = True
    in_window = [d for (s, d) in log.felt if settled_from <= s < settled_to]
    labels = sum(1 for t in log.done_at if settled_from <= t < settled_to)
    first_labels = [x for x in log.first_label if not math.isnan(x)]
    errors = {k: v for k, v in log.kinds.items() if "(retried)" not in k and "(reopened)" not in k}
    return {
        "drain_s": round(end - t_start, 1), "settled": settled, "settled_s": round(window, 1),
        "labels_per_s": round(labels / window, 1),
        "felt_p50_ms": _pct(in_window, 50), "felt_p95_ms": _pct(in_window, 95),
        "first_label_p50_s": _pct(first_labels, 50) / 1000, "first_label_max_s": max(first_labels, default=math.nan),
        "annotators_with_a_label": len(first_labels),
        "retried_503": sum(v for k, v in log.kinds.items() if "503" in k),
        "reopened": log.kinds["connection closed by server (reopened)"] + log.kinds["connect refused (retried)"],
        "errors": sum(errors.values()), "error_kinds": dict(errors), "acked": len(log.acked),
    }


# -- one database ------------------------------------------------------------------------

def run_db(db: str, levels: list[int], per_annotator: int, arrival_s: float, think: float,
           workers: int | None) -> list[dict]:
    workers = workers or (1 if db == "sqlite" else 2)
    rows = []
    for level in levels:
        # A fresh instance per level (a campaign takes every clip there is) and
        # a fresh server: its auth cache is cold, as on launch day.
        with bench_env(db, "fervlab-burst") as env:
            setup = _in_child("_setup", env, [level], max(50, math.ceil(level * per_annotator / OVERLAP)))
            server_log = Path(env["FERVLAB_VAR_DIR"]) / f"server-{level}.log"
            with open(server_log, "w") as out:
                proc, port = _serve(env, workers, log=out)
            try:
                log, t_start = asyncio.run(_crowd(port, setup["tokens"][:level], setup["campaigns"][str(level)],
                                                  arrival_s, think))
            finally:
                _stop(proc)
            text = server_log.read_text(errors="replace")
            row = {"db": db, "workers": workers, "annotators": level, "arrival_s": arrival_s, "think_s": think,
                   **_summary(log, t_start, level),
                   "server_500s": text.count("unhandled error") + text.count("Exception in ASGI application"),
                   **_in_child("_check", env, setup["campaigns"][str(level)], log.acked, module="bench.crowd_burst")}
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def markdown(rows: list[dict], args) -> str:
    cmd = (f"`.venv/bin/python bench/crowd_burst.py --annotators {args.annotators} --per-annotator "
           f"{args.per_annotator} --think {args.think:g} --arrival {args.arrival:g}"
           f"{' --db ' + args.db if args.db != 'both' else ''}`")
    out = [f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores "
           f"({cpu_model()}), Python {platform.python_version()}; client and server on the same machine, load "
           f"average {os.getloadavg()[0]:.1f} at the end. Command: {cmd}.",
           "",
           "| database | uvicorn workers | annotators | drained in (s) | settled: labels/s | settled: felt p50 / p95 (ms)"
           " | first label p50 / max (s) | 503s retried | reconnects | errors (other) | 500s in server log |"
           " lost votes | double votes | counter drift | clips short |",
           "|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        settled = "" if r["settled"] else " (whole run)"
        out.append(f"| {r['db']} | {r['workers']} | {r['annotators']} | {r['drain_s']:.0f} | "
                   f"{r['labels_per_s']:.0f}{settled} | {r['felt_p50_ms']:.0f} / {r['felt_p95_ms']:.0f} | "
                   f"{r['first_label_p50_s']:.1f} / {r['first_label_max_s']:.1f} | {r['retried_503']} | "
                   f"{r['reopened']} | {r['errors']} | {r['server_500s']} | {r['lost_votes']} | "
                   f"{r['double_votes'] + r['over_assigned_clips']} | {r['counter_drift']} | {r['clips_short']} |")
    kinds = [f"{r['db']} {r['annotators']}: {r['error_kinds']}" for r in rows if r["error_kinds"]]
    if kinds:
        out += ["", "Errors by kind: " + "; ".join(kinds) + "."]
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--annotators", default="100,300,1000", help="comma-separated levels")
    ap.add_argument("--per-annotator", type=int, default=5, help="labels per annotator the campaign holds")
    ap.add_argument("--arrival", type=float, default=1.0, help="seconds over which the crowd arrives")
    ap.add_argument("--think", type=float, default=2.0, help="mean seconds a person looks at a clip (0: none)")
    ap.add_argument("--workers", type=int, default=None, help="uvicorn processes (default 1 SQLite, 2 PostgreSQL)")
    ap.add_argument("--markdown", action="store_true", help="print the table for BENCHMARKS.md")
    args = ap.parse_args()
    levels = [int(x) for x in args.annotators.split(",") if x.strip()]
    rows = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        rows += run_db(db, levels, args.per_annotator, args.arrival, args.think, args.workers)
    if args.markdown:
        print(markdown(rows, args))


if __name__ == "__main__":
    main()
