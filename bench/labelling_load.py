"""Labelling load: C simulated annotators, each looping next → submit as fast
as the server answers, against uvicorn in its own process(es).

    .venv/bin/python bench/labelling_load.py                        # SQLite and PostgreSQL, 1/8/32 annotators, 30 s
    .venv/bin/python bench/labelling_load.py --db sqlite --seconds 10 --annotators 1,32
    .venv/bin/python bench/labelling_load.py --markdown             # the table for BENCHMARKS.md

Each level gets a fresh campaign (overlap 3, 5 % gold, assisted: every clip
has a model prediction, so `next` reads the ranking too) over enough clips
that the pool never runs dry. The client is one asyncio process speaking
HTTP/1.1 keep-alive on raw sockets (one connection per annotator, bearer
token), so it costs the server's CPU as little as possible. Afterwards the
database is checked for double assignments: a clip with more votes or live
leases than it wanted, or one annotator twice on a clip.

SQLite: the embedded default, a file under a temporary directory, one uvicorn
process (SQLite has one writer; a second process would only queue on the file
lock). PostgreSQL: FERVLAB_BENCH_PG (default
postgresql://postgres@127.0.0.1:5432/postgres) gets a throw-away database;
two uvicorn processes unless --workers says otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402
PG_URL = os.environ.get("FERVLAB_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
EXPRESSIONS = ["Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"]
OVERLAP = 3


# -- set-up (runs in a child process so each database gets fresh settings) --------

def _setup(env: dict, levels: list[int], clips_per_level: int) -> dict:
    """Schema, taxonomy, annotators with tokens, one campaign per level."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa
    from sqlmodel import Session

    from app.benchmarks.models import Prediction
    from app.clips.models import Clip, ClipSource, GoldAnswer
    from app.core.db import get_engine, utcnow
    from app.core.migrate import upgrade_head
    from app.labeling import service
    from app.labeling.models import CampaignCreate
    from app.taxonomy.models import Scene
    from app.taxonomy.service import seed_defaults
    from app.users.models import User
    from app.users.service import issue_token

    upgrade_head()
    engine = get_engine()
    with Session(engine) as s:
        seed_defaults(s)
        s.commit()
        scene_id = s.exec(sa.select(Scene.id).where(Scene.name == "DailyLife")).scalar_one()
        tokens = []
        for i in range(max(levels)):
            user = User(email=f"load{i}@bench.local", password_hash="-")
            s.add(user)
            s.flush()
            tokens.append(issue_token(s, user=user))
        campaigns = {}
        rng = random.Random(0)
        for level in levels:
            rows = [dict(key=f"bench-{level}-{n}-{uuid.uuid4().hex[:6]}", scene_id=scene_id, source=ClipSource.demo,
                         face_dir=f"bench/{level}/{n}/faces", preview_path=f"bench/{level}/{n}/preview.mp4",
                         start_s=0.0, end_s=0.64, start_frame=0, frame_count=16, fps=25.0, boxes=[],
                         created_at=utcnow()) for n in range(clips_per_level)]
            ids = _insert_clips(s, Clip, rows)
            gold = ids[: max(1, clips_per_level // 20)]
            s.execute(sa.insert(GoldAnswer.__table__), [dict(clip_id=i, expression=rng.choice(EXPRESSIONS),
                                                             created_at=utcnow()) for i in gold])
            preds = []
            for i in ids:
                p = [rng.random() for _ in EXPRESSIONS]
                tot = sum(p)
                probs = {e.lower(): round(v / tot, 4) for e, v in zip(EXPRESSIONS, p)}
                ranking = sorted(probs, key=lambda k: -probs[k])
                preds.append(dict(clip_id=i, model_name="bench", probs=probs, ranking=ranking, top=ranking[0],
                                  entropy=1.0, created_at=utcnow()))
            s.execute(sa.insert(Prediction.__table__), preds)
            s.commit()
            campaign = service.create_campaign(s, data=CampaignCreate(
                name=f"load {level}", overlap=OVERLAP, gold_rate=0.05, qualification_clips=0, assisted=True,
                pause_accuracy=0.0, lease_seconds=600))
            campaigns[level] = campaign.id
    engine.dispose()
    return {"tokens": tokens, "campaigns": campaigns}


def _insert_clips(s, Clip, rows) -> list[int]:
    import sqlalchemy as sa

    table = Clip.__table__
    ids = []
    for start in range(0, len(rows), 1000):
        ids += [r[0] for r in s.execute(sa.insert(table).returning(table.c.id), rows[start:start + 1000]).all()]
    return ids


def _check(env: dict, campaign_id: int) -> dict:
    """Double assignments, read back from the database."""
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import sqlalchemy as sa

    from app.core.db import get_engine

    engine = get_engine()
    with engine.connect() as c:
        over = c.execute(sa.text(
            "SELECT count(*) FROM campaignclip WHERE campaign_id = :c AND NOT is_gold AND active + done > wanted"),
            {"c": campaign_id}).scalar_one()
        over_votes = c.execute(sa.text(
            "SELECT count(*) FROM (SELECT a.clip_id FROM annotation a JOIN campaignclip cc ON cc.campaign_id = "
            "a.campaign_id AND cc.clip_id = a.clip_id WHERE a.campaign_id = :c AND NOT cc.is_gold "
            "GROUP BY a.clip_id, cc.wanted HAVING count(*) > cc.wanted) t"), {"c": campaign_id}).scalar_one()
        twice = c.execute(sa.text(
            "SELECT count(*) FROM (SELECT clip_id, user_id FROM assignment WHERE campaign_id = :c "
            "GROUP BY clip_id, user_id HAVING count(*) > 1) t"), {"c": campaign_id}).scalar_one()
        labels = c.execute(sa.text("SELECT count(*) FROM annotation WHERE campaign_id = :c"),
                           {"c": campaign_id}).scalar_one()
    engine.dispose()
    return {"over_assigned_clips": int(over) + int(over_votes), "same_annotator_twice": int(twice),
            "labels_in_db": int(labels)}


def _in_child(fn, *args, module: str = "bench.labelling_load"):
    """Run module.fn in a fresh interpreter (settings are read once per process)."""
    code = ("import json, sys; sys.path.insert(0, %r); import %s as m; "
            "print('@@' + json.dumps(m.%s(*json.loads(sys.argv[1]))))") % (str(ROOT), module, fn)
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{fn} failed:\n{out.stderr[-3000:]}")
    line = [x for x in out.stdout.splitlines() if x.startswith("@@")][-1]
    return json.loads(line[2:])


# -- the client ----------------------------------------------------------------------

class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int, token: str):
        self.host, self.port, self.token = host, port, token
        self.r = self.w = None
        self.headers: dict[str, str] = {}  # of the last answer, names in lower case

    async def open(self):
        self.r, self.w = await asyncio.open_connection(self.host, self.port)

    async def call(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.token}\r\n"
                f"Accept: application/json\r\n")
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        self.w.write(head.encode() + b"\r\n" + data)
        status_line = await self.r.readline()
        if not status_line:
            raise ConnectionError("server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        self.headers = {}
        while True:
            line = await self.r.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            k, _, v = line.decode("latin-1").partition(":")
            self.headers[k.lower()] = v.strip()
            if k.lower() == "content-length":
                length = int(v.strip())
        payload = await self.r.readexactly(length) if length else b""
        return status, payload

    def close(self):
        if self.w is not None:
            self.w.close()


async def _annotator(conn: Conn, campaign_id: int, stop_at: float, warm_until: float, stats: dict, seed: int):
    rng = random.Random(seed)
    await conn.open()
    try:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                st, body = await conn.call("GET", f"/api/v1/campaigns/{campaign_id}/next")
            except Exception as exc:  # noqa: BLE001 - counted, then reconnect
                stats["errors"].append(f"next: {type(exc).__name__}")
                await conn.open()
                continue
            t1 = time.perf_counter()
            if st == 204:
                stats["errors"].append("next: 204 (pool ran dry)")
                return
            if st != 200:
                stats["errors"].append(f"next: {st} {body[:200]!r}")
                continue
            lease = json.loads(body)
            try:
                st, body = await conn.call("POST", "/api/v1/annotations", {
                    "assignment_id": lease["assignment_id"], "expression": rng.choice(EXPRESSIONS),
                    "duration_ms": int((t1 - t0) * 1000)})
            except Exception as exc:  # noqa: BLE001
                stats["errors"].append(f"submit: {type(exc).__name__}")
                await conn.open()
                continue
            t2 = time.perf_counter()
            if st not in (200, 201):
                stats["errors"].append(f"submit: {st} {body[:200]!r}")
                continue
            if t0 >= warm_until:
                stats["next"].append(t1 - t0)
                stats["submit"].append(t2 - t1)
                stats["labels"] += 1
    finally:
        conn.close()


async def _drive(port: int, tokens: list[str], campaign_id: int, seconds: float, warmup: float) -> dict:
    stats = {"next": [], "submit": [], "labels": 0, "errors": []}
    start = time.perf_counter()
    warm_until, stop_at = start + warmup, start + warmup + seconds
    conns = [Conn("127.0.0.1", port, t) for t in tokens]
    await asyncio.gather(*(_annotator(c, campaign_id, stop_at, warm_until, stats, i) for i, c in enumerate(conns)))
    stats["measured_s"] = max(1e-9, min(time.perf_counter(), stop_at) - warm_until)
    return stats


def _pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] * 1000


# -- the server ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_without_consensus():
    """The app with the consensus hook switched off (--no-consensus): to see
    what the labelling path itself costs."""
    from app.consensus import service
    from app.main import create_app

    service.on_annotation = lambda *args, **kwargs: None
    return create_app()


def _serve(env: dict, workers: int, *, consensus: bool = True, log=None, port: int = 0) -> tuple[subprocess.Popen, int]:
    """uvicorn on a free port (or `port`); its output to `log` (a file) when given."""
    port = port or _free_port()
    factory = "app.main:create_app" if consensus else "bench.labelling_load:app_without_consensus"
    cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
           "--port", str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return proc, port
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("uvicorn did not start")


def _cpu_seconds(root_pid: int) -> float:
    """User + system CPU of a process and all its descendants (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    wanted, total, frontier = {root_pid}, 0.0, [root_pid]
    while frontier:
        pid = frontier.pop()
        total += stats.get(pid, (0, 0.0))[1]
        kids = [p for p, (ppid, _) in stats.items() if ppid == pid and p not in wanted]
        wanted.update(kids)
        frontier += kids
    return total


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


# -- one database ----------------------------------------------------------------------

@contextmanager
def bench_env(db: str, prefix: str = "fervlab-load") -> Iterator[dict]:
    """Settings for a throw-away instance: a temporary folder and, on
    PostgreSQL, a new database that is dropped afterwards."""
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}-{db}-"))
    env = {"FERVLAB_ENV": "test", "FERVLAB_VAR_DIR": str(tmp), "FERVLAB_MEDIA_ROOT": str(tmp / "media"),
           "FERVLAB_BROKER_URL": "memory://"}
    admin_url = None
    if db == "postgres":
        import psycopg

        base = PG_URL.rpartition("/")[0]
        name = f"fervlab_load_{uuid.uuid4().hex[:8]}"
        admin_url = base + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        env["FERVLAB_DATABASE_URL"] = f"{base}/{name}"
    else:
        env["FERVLAB_DATABASE_URL"] = f"sqlite:///{tmp / 'fervlab.db'}"
    try:
        yield env
    finally:
        if admin_url:
            import psycopg

            with psycopg.connect(admin_url, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{env["FERVLAB_DATABASE_URL"].rpartition("/")[2]}" WITH (FORCE)')


def run_db(db: str, levels: list[int], seconds: float, workers: int | None, clips_rate: float, *,
           consensus: bool = True, port: int = 0) -> list[dict]:
    workers = workers or (1 if db == "sqlite" else 2)
    # Enough clips that no level runs dry: generous labels/s × seconds / overlap.
    clips = int(clips_rate * (seconds + 5) / OVERLAP) + 200
    rows = []
    with bench_env(db) as env:
        setup = _in_child("_setup", env, levels, clips)
        proc, port = _serve(env, workers, consensus=consensus, port=port)
        try:
            for level in levels:
                campaign_id = setup["campaigns"][str(level)]
                warmup = min(3.0, max(1.0, seconds / 10))
                cpu0 = _cpu_seconds(proc.pid)
                st = asyncio.run(_drive(port, setup["tokens"][:level], campaign_id, seconds, warmup))
                cpu = _cpu_seconds(proc.pid) - cpu0
                check = _in_child("_check", env, campaign_id)
                row = {
                    "db": db, "consensus": consensus, "workers": workers, "annotators": level, "seconds": round(st["measured_s"], 1),
                    "labels": st["labels"], "labels_per_s": round(st["labels"] / st["measured_s"], 1),
                    "next_p50": _pct(st["next"], 50), "next_p95": _pct(st["next"], 95),
                    "next_p99": _pct(st["next"], 99), "submit_p50": _pct(st["submit"], 50),
                    "submit_p95": _pct(st["submit"], 95), "submit_p99": _pct(st["submit"], 99),
                    "errors": len(st["errors"]), "error_kinds": sorted(set(st["errors"]))[:5],
                    # Server CPU per label (warm-up included in both): the figure
                    # a busy, shared machine distorts least.
                    "server_cpu_ms_per_label": round(1000 * cpu / max(1, check["labels_in_db"]), 2), **check,
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            _stop(proc)
    return rows


def markdown(rows: list[dict], args) -> str:
    out = [f"Measured {dt.date.today().isoformat()} on {os.cpu_count()} cores ({cpu_model()}), Python "
           f"{platform.python_version()}; client and server on the same machine. Command: "
           f"`.venv/bin/python bench/labelling_load.py --seconds {args.seconds:g} --annotators {args.annotators}"
           f"{' --db ' + args.db if args.db != 'both' else ''}{' --no-consensus' if args.no_consensus else ''}`.",
           "",
           "| database | consensus hook | uvicorn workers | annotators | labels/s | next p50 / p95 / p99 (ms) |"
           " submit p50 / p95 / p99 (ms) | errors | double-assigned clips | server CPU per label (ms) |",
           "|---|---|---:|---:|---:|---|---|---:|---:|---:|"]
    for r in rows:
        out.append(f"| {r['db']} | {'on' if r['consensus'] else 'off'} | {r['workers']} | {r['annotators']} | "
                   f"{r['labels_per_s']:.0f} | "
                   f"{r['next_p50']:.1f} / {r['next_p95']:.1f} / {r['next_p99']:.1f} | "
                   f"{r['submit_p50']:.1f} / {r['submit_p95']:.1f} / {r['submit_p99']:.1f} | {r['errors']} | "
                   f"{r['over_assigned_clips'] + r['same_annotator_twice']} | {r['server_cpu_ms_per_label']:.1f} |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--annotators", default="1,8,32", help="comma-separated levels")
    ap.add_argument("--seconds", type=float, default=30.0, help="measured seconds per level")
    ap.add_argument("--workers", type=int, default=None, help="uvicorn processes (default 1 SQLite, 2 PostgreSQL)")
    ap.add_argument("--max-rate", type=float, default=1500.0, help="labels/s the clip pool must be able to absorb")
    ap.add_argument("--no-consensus", action="store_true", help="switch the consensus hook off (see its cost)")
    ap.add_argument("--markdown", action="store_true", help="print the table for BENCHMARKS.md")
    ap.add_argument("--port", type=int, default=0, help="the server's port (default: a free one)")
    args = ap.parse_args()
    levels = [int(x) for x in args.annotators.split(",") if x.strip()]
    rows = []
    for db in (["sqlite", "postgres"] if args.db == "both" else [args.db]):
        rows += run_db(db, levels, args.seconds, args.workers, args.max_rate, consensus=not args.no_consensus,
                       port=args.port)
    if args.markdown:
        print(markdown(rows, args))
    else:
        for r in rows:
            print(f"{r['db']:8} {r['annotators']:3} annotators: {r['labels_per_s']:7.1f} labels/s, next p95 "
                  f"{r['next_p95']:.1f} ms, submit p95 {r['submit_p95']:.1f} ms, errors {r['errors']}, "
                  f"double-assigned {r['over_assigned_clips'] + r['same_annotator_twice']}, "
                  f"server CPU {r['server_cpu_ms_per_label']:.1f} ms/label")


if __name__ == "__main__":
    main()
