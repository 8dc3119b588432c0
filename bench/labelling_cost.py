"""Where a label's server CPU goes: the framework floor of an authenticated
request, against the service layer alone (the dealer, the vote and the
consensus hook called in-process, no HTTP), on the same machine in one run.

    .venv/bin/python bench/labelling_cost.py                 # SQLite (the embedded default)
    .venv/bin/python bench/labelling_cost.py --db postgres

The load benchmark (labelling_load.py) gives the total per label; this
splits it. CPU is process time (user + system), not wall time.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import labelling_load as load  # noqa: E402
from bench.machine import cpu_model  # noqa: E402


def service_cost(env: dict, labels: int) -> dict:
    """CPU per label of dealer.next_assignment + votes.submit, in this
    process, 32 annotators in turn (runs in a child: settings are per process)."""
    os.environ.update(env)
    setup = load._setup(env, [32], labels // 2 + 200)
    import sqlalchemy as sa
    from sqlmodel import Session

    from app.core.db import get_engine
    from app.labeling import dealer, votes
    from app.labeling.models import AnnotationCreate
    from app.users.models import User

    engine = get_engine()
    campaign = setup["campaigns"][32]  # in-process: keys are ints (JSON makes them strings only across processes)
    with Session(engine) as s:
        users = list(s.exec(sa.select(User).order_by(User.id)).scalars())
        for u in users:
            s.expunge(u)
    statements = [0]
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))

    def one(i: int) -> None:
        user = users[i % len(users)]
        with Session(engine, expire_on_commit=False) as s:
            deal = dealer.next_assignment(s, campaign_id=campaign, user=user)
        with Session(engine, expire_on_commit=False) as s:
            votes.submit(s, user=user, data=AnnotationCreate(assignment_id=deal.assignment.id, expression="Happy"))

    for i in range(100):  # warm: statement caches, the taxonomy cache
        one(i)
    statements[0] = 0
    t0 = time.process_time()
    for i in range(100, labels):
        one(i)
    n = labels - 100
    engine.dispose()
    return {"ms_per_label": 1000 * (time.process_time() - t0) / n, "statements_per_label": statements[0] / n}


def driver_cost(url: str, n: int = 3000) -> dict:
    """Client CPU of one primary-key select of three columns: through
    SQLAlchemy Core (a prebuilt statement) and on the raw DBAPI cursor."""
    import sqlalchemy as sa

    from app.core.db import make_engine

    engine = make_engine(url)
    md = sa.MetaData()
    t = sa.Table("bench_cost_probe", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("a", sa.Integer),
                 sa.Column("b", sa.String(20)))
    md.drop_all(engine)
    md.create_all(engine)
    try:
        with engine.begin() as c:
            c.execute(t.insert(), [{"id": i, "a": i, "b": str(i)} for i in range(1000)])
        stmt = sa.select(t.c.id, t.c.a, t.c.b).where(t.c.id == sa.bindparam("id"))
        sql = "SELECT id, a, b FROM bench_cost_probe WHERE id = " + ("?" if engine.dialect.name == "sqlite" else "%s")
        out = {}
        with engine.connect() as c:
            for i in range(200):
                c.execute(stmt, {"id": i}).first()
            t0 = time.process_time()
            for i in range(n):
                c.execute(stmt, {"id": i % 1000}).first()
            out["core_us"] = 1e6 * (time.process_time() - t0) / n
            raw = c.connection.dbapi_connection
            t0 = time.process_time()
            for i in range(n):
                cur = raw.cursor()
                cur.execute(sql, (i % 1000,))
                cur.fetchone()
                cur.close()
            out["raw_us"] = 1e6 * (time.process_time() - t0) / n
            c.rollback()
    finally:
        md.drop_all(engine)
        engine.dispose()
    return out


async def _hammer(port: int, tokens: list[str], path: str, seconds: float) -> int:
    conns = [load.Conn("127.0.0.1", port, t) for t in tokens]
    for c in conns:
        await c.open()
    count, stop = 0, time.perf_counter() + seconds

    async def loop(conn):
        nonlocal count
        while time.perf_counter() < stop:
            status, _ = await conn.call("GET", path)
            if status != 200:
                raise SystemExit(f"{path} answered {status}")
            count += 1

    await asyncio.gather(*(loop(c) for c in conns))
    for c in conns:
        c.close()
    return count


def floor_cost(env: dict, seconds: float) -> dict:
    """Server CPU per request of a trivial authenticated call (GET
    /api/v1/me: authentication and a small JSON answer, nothing else)."""
    setup = load._in_child("_setup", env, [8], 50)
    proc, port = load._serve(env, 1)
    try:
        asyncio.run(_hammer(port, setup["tokens"], "/api/v1/me", 1.0))  # warm
        cpu0 = load._cpu_seconds(proc.pid)
        n = asyncio.run(_hammer(port, setup["tokens"], "/api/v1/me", seconds))
        cpu = load._cpu_seconds(proc.pid) - cpu0
    finally:
        load._stop(proc)
    return {"ms_per_request": 1000 * cpu / n, "requests_per_s": n / seconds}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    ap.add_argument("--labels", type=int, default=1500, help="labels for the service-layer part")
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds of GET /api/v1/me")
    args = ap.parse_args()
    import json
    import tempfile
    import uuid

    tmp = Path(tempfile.mkdtemp(prefix="fervlab-cost-"))
    env = {"FERVLAB_ENV": "test", "FERVLAB_VAR_DIR": str(tmp), "FERVLAB_MEDIA_ROOT": str(tmp / "media"),
           "FERVLAB_BROKER_URL": "memory://"}
    names = []
    try:
        for part in ("service", "floor", "driver"):
            if args.db == "postgres":
                import psycopg

                base = load.PG_URL.rpartition("/")[0]
                names.append(f"fervlab_cost_{uuid.uuid4().hex[:8]}")
                with psycopg.connect(base + "/postgres", autocommit=True) as c:
                    c.execute(f'CREATE DATABASE "{names[-1]}"')
                env["FERVLAB_DATABASE_URL"] = f"{base}/{names[-1]}"
            else:
                env["FERVLAB_DATABASE_URL"] = f"sqlite:///{tmp / (part + '.db')}"
            if part == "service":
                code = ("import json, sys; sys.path.insert(0, %r); from bench import labelling_cost as m; "
                        "print('@@' + json.dumps(m.service_cost(json.loads(sys.argv[1]), %d)))") % (str(ROOT),
                                                                                                    args.labels)
                out = subprocess.run([sys.executable, "-c", code, json.dumps(env)], capture_output=True, text=True,
                                     cwd=ROOT)
                if out.returncode != 0:
                    raise SystemExit(out.stderr[-3000:])
                service = json.loads([x for x in out.stdout.splitlines() if x.startswith("@@")][-1][2:])
            elif part == "floor":
                floor = floor_cost(env, args.seconds)
            else:
                driver = driver_cost(env["FERVLAB_DATABASE_URL"])
    finally:
        if names:
            import psycopg

            with psycopg.connect(load.PG_URL.rpartition("/")[0] + "/postgres", autocommit=True) as c:
                for name in names:
                    c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{args.db} on {os.cpu_count()} cores ({cpu_model()}), Python {platform.python_version()}:")
    print(f"  service layer (next + submit in-process): {service['ms_per_label']:.2f} ms CPU per label, "
          f"{service['statements_per_label']:.1f} statements per label")
    print(f"  framework floor (GET /api/v1/me): {floor['ms_per_request']:.2f} ms server CPU per request, "
          f"{floor['requests_per_s']:.0f} requests/s with 8 connections")
    print(f"  one primary-key select: {driver['core_us']:.0f} us client CPU through SQLAlchemy Core, "
          f"{driver['raw_us']:.0f} us on the raw DBAPI cursor")
    print(f"  two such requests + the service layer: {2 * floor['ms_per_request'] + service['ms_per_label']:.1f} "
          "ms per label")


if __name__ == "__main__":
    main()
