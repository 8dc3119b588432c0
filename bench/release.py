"""Dataset releases at FERV39k scale: 38,935 clips from the real index in
../shared/ferv39k (synthetic one-colour frames, the real frame counts:
1,090,633 files) and 30 votes per clip (1.17M).

    .venv/bin/python bench/release.py [--clips N] [--votes-per-clip 30] [--keep]

Measures, in one run on one machine: release creation; the FERV39k export
against `cp -al` and `cp -r` of the same frames; the votes export; `fervlab
aggregate` of that votes file end to end (a subprocess, so it runs whatever
`fervlab aggregate` is at the time) against crowd-kit's read_csv + fit_predict
(Dawid–Skene both, crowd-kit from a separate virtualenv as bench/consensus.py
makes it); the dataset pages' latency; the process's peak memory. SQLite (the
embedded default) on a fresh temporary instance. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Figures(dict):
    """Each figure is printed to stderr as it is measured: a run cut short
    still tells what it got."""

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        print(f"  {key}: {value}", file=sys.stderr, flush=True)


def timed(fn, *a, **kw):
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


def crowdkit_worker(votes_csv: str) -> None:
    """Run under the crowd-kit venv: read + fit, timed separately."""
    import pandas as pd
    from crowdkit.aggregation import DawidSkene

    t0 = time.perf_counter()
    df = pd.read_csv(votes_csv, usecols=["task", "worker", "label"], dtype=str)
    t1 = time.perf_counter()
    labels = DawidSkene(n_iter=100).fit_predict(df)
    t2 = time.perf_counter()
    print(json.dumps({"read_s": t1 - t0, "fit_s": t2 - t1, "seconds": t2 - t0, "items": int(labels.shape[0])}))


def write_tree(root: Path, clips) -> int:
    """The FERV39k layout with one tiny JPEG's bytes in every frame file."""
    import cv2
    import numpy as np

    from app.clips.ferv39k import FACE_DIR, SETUP_DIR

    jpeg = cv2.imencode(".jpg", np.full((8, 8, 3), 128, np.uint8))[1].tobytes()
    files = 0
    for c in clips:
        d = root / FACE_DIR / c.scene / c.expression / c.number
        d.mkdir(parents=True)
        for i in range(1, c.frames + 1):
            fd = os.open(d / f"{i:05d}.jpg", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, jpeg)
            os.close(fd)
            files += 1
    (root / SETUP_DIR).mkdir(parents=True)
    for split in ("train", "test"):
        (root / SETUP_DIR / f"{split}_All.csv").write_text(
            "".join(f"{c.clip} {c.expression}\n" for c in clips if c.split == split))
    return files


def put_votes(session, *, per_clip: int, workers: int, seed: int = 0) -> dict:
    """Annotators, a campaign (the labelling service; its pool holds every
    clip), and per_clip votes
    on each clip (one finished lease + one vote each), inserted in batches
    through the tables the labelling service writes. Annotators of skill
    0.55–0.95 give the FERV39k label, else a random other one."""
    import numpy as np
    import sqlalchemy as sa

    from app.clips.models import Clip
    from app.core.db import utcnow
    from app.labeling import service as labelling
    from app.labeling.models import Annotation, Assignment, CampaignClip, CampaignCreate
    from app.taxonomy.service import expression_names
    from app.users.models import User

    names = expression_names(session)
    lower = {n.lower(): i for i, n in enumerate(names)}
    now = utcnow()
    session.execute(sa.insert(User.__table__), [
        {"email": f"bench{i}@example.org", "password_hash": "x", "role": "annotator", "active": True, "paused": False,
         "created_at": now} for i in range(workers)])
    user_ids = [u for (u,) in session.execute(sa.select(User.id).where(User.email.like("bench%@example.org"))
                                              .order_by(User.id))]
    campaign = labelling.create_campaign(session, data=CampaignCreate(
        name="bench", overlap=per_clip, max_overlap=per_clip, min_votes=3, gold_rate=0.0, qualification_clips=0))
    clips = session.execute(sa.select(Clip.id, Clip.source_label).order_by(Clip.id)).all()
    # create_campaign filled its pool with every clip (it names no scene).
    assert session.execute(sa.select(sa.func.count()).select_from(CampaignClip)).scalar() == len(clips)
    rng = np.random.default_rng(seed)
    skill = rng.uniform(0.55, 0.95, workers)
    k = len(names)
    next_id = 1
    batch_a, batch_v = [], []
    start = now - timedelta(days=30)

    def flush() -> None:
        session.execute(sa.insert(Assignment.__table__), batch_a)
        session.execute(sa.insert(Annotation.__table__), batch_v)
        batch_a.clear()
        batch_v.clear()

    for n, (cid, label) in enumerate(clips):
        truth = lower[label.lower()]
        who = rng.choice(workers, per_clip, replace=False)
        right = rng.random(per_clip) < skill[who]
        wrong = (truth + rng.integers(1, k, per_clip)) % k
        at = start + timedelta(seconds=int(n * 30 * 86400 / len(clips)))
        for w, ok, other in zip(who.tolist(), right.tolist(), wrong.tolist()):
            batch_a.append({"id": next_id, "campaign_id": campaign.id, "clip_id": cid, "user_id": user_ids[w],
                            "is_gold": False, "status": "done", "created_at": at, "expires_at": at,
                            "completed_at": at})
            batch_v.append({"id": next_id, "assignment_id": next_id, "campaign_id": campaign.id, "clip_id": cid,
                            "user_id": user_ids[w], "expression": names[truth if ok else other],
                            "descriptor": None, "flags": [], "assisted": bool(next_id % 3 == 0),
                            "duration_ms": 800 + next_id % 2000, "is_gold": False, "gold_correct": None,
                            "created_at": at})
            next_id += 1
        if len(batch_a) >= 50_000:
            flush()
    flush()
    session.commit()
    return {"votes": next_id - 1, "annotators": workers}


def page_latency(client, url: str, headers: dict, n: int = 15) -> dict:
    t0 = time.perf_counter()
    r = client.get(url, headers=headers)
    cold = time.perf_counter() - t0
    assert r.status_code == 200, (url, r.status_code, r.text[:300])
    warm = []
    for _ in range(n):
        t0 = time.perf_counter()
        client.get(url, headers=headers)
        warm.append(time.perf_counter() - t0)
    return {"cold_ms": cold * 1000, "warm_median_ms": statistics.median(warm) * 1000, "bytes": len(r.content)}


def measure_pages(token: str) -> dict:
    """The dataset pages: first look (the figures counted), then warm; then
    the two moments a user meets during a campaign: the first look after a
    new vote (kept figures served while fresh ones are counted apart), and a
    restarted process (figures kept on disk)."""
    import sqlalchemy as sa
    from fastapi.testclient import TestClient
    from sqlmodel import Session

    from app.core.db import get_engine
    from app.datasets import live
    from app.labeling.models import Annotation, Assignment
    from app.main import create_app
    from app.users.models import User

    out: dict = {}
    live.clear()
    headers = {"Authorization": f"Bearer {token}"}
    with TestClient(create_app()) as client:
        out["page_datasets"] = page_latency(client, "/datasets", headers)
        out["page_release"] = page_latency(client, "/datasets/releases/bench", headers)
        out["api_release"] = page_latency(client, "/api/v1/releases/bench", headers)
        out["api_live"] = page_latency(client, "/api/v1/datasets/live", headers)
        # A new vote (a copy of the last one, and of its lease, under new ids) moves the marker.
        with Session(get_engine()) as s:
            a, lease = Annotation.__table__, Assignment.__table__
            row = dict(s.execute(sa.select(a).order_by(a.c.id.desc()).limit(1)).mappings().one())
            held = dict(s.execute(sa.select(lease).where(lease.c.id == row["assignment_id"])).mappings().one())
            held["id"] = row["assignment_id"] = s.execute(sa.select(sa.func.max(lease.c.id))).scalar() + 1
            voted = sa.select(lease.c.user_id).where(lease.c.clip_id == row["clip_id"])
            held["user_id"] = row["user_id"] = s.execute(
                sa.select(User.id).where(User.id.not_in(voted)).limit(1)).scalar_one()
            row["id"] += 1
            s.execute(sa.insert(lease), [held])
            s.execute(sa.insert(a), [row])
            s.commit()
        old_age, live.MIN_AGE_S = live.MIN_AGE_S, 0.0
        try:
            t0 = time.perf_counter()
            r = client.get("/datasets", headers=headers)
            out["page_after_vote_ms"] = (time.perf_counter() - t0) * 1000
            out["page_after_vote_refreshing"] = "newer figures are being computed" in r.text
            t0 = time.perf_counter()
            live.wait_for_refresh(600)
            out["background_refresh_s"] = time.perf_counter() - t0
        finally:
            live.MIN_AGE_S = old_age
        with live._lock:
            live._cache.clear()  # what a restarted process has in memory
        t0 = time.perf_counter()
        client.get("/datasets", headers=headers)
        out["page_restarted_ms"] = (time.perf_counter() - t0) * 1000
    return out


def run_cmd(args: list[str], **kw) -> float:
    t0 = time.perf_counter()
    subprocess.run(args, check=True, **kw)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=None, help="N clips of the index (default: all 38,935)")
    ap.add_argument("--votes-per-clip", type=int, default=30)
    ap.add_argument("--workers", type=int, default=400)
    ap.add_argument("--dir", default=None, help="work folder (default: a new one under /tmp)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--crowdkit-worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--pages-only", action="store_true",
                    help="only the page figures, on the instance a --keep run left in --dir")
    args = ap.parse_args()
    if args.crowdkit_worker:
        crowdkit_worker(args.crowdkit_worker)
        return
    if args.pages_only:
        pages_only(Path(args.dir or sys.exit("--pages-only needs --dir of a kept run")))
        return

    work = Path(args.dir or tempfile.mkdtemp(prefix="fervlab-release-bench-"))
    os.environ.update(FERVLAB_VAR_DIR=str(work / "var"), FERVLAB_MEDIA_ROOT=str(work / "var" / "media"),
                      FERVLAB_ENV="dev")
    os.environ.pop("FERVLAB_DATABASE_URL", None)
    from bench.consensus import ensure_crowdkit
    from bench.machine import cpu_model
    from tests.factories.ferv39k_tree import read_real_index, select, shared_index_dir

    index = shared_index_dir()
    if index is None:
        sys.exit("bench/release.py needs ../shared/ferv39k (the real FERV39k index)")
    # --clips N: N clips spread over every scene and expression, both splits.
    clips = read_real_index(index) if args.clips is None else select(read_real_index(index), limit=args.clips)
    fig: dict = Figures(clips=len(clips), frames=sum(c.frames for c in clips))
    try:
        files, fig["tree_s"] = timed(write_tree, work / "ferv39k", clips)
        print(f"tree: {files} frames in {fig['tree_s']:.1f} s", file=sys.stderr)

        from fastapi.testclient import TestClient
        from sqlmodel import Session

        from app.clips.ferv39k_import import import_ferv39k
        from app.consensus.runs import run_consensus
        from app.core.db import get_engine
        from app.core.migrate import upgrade_head
        from app.datasets import exports, live, service
        from app.main import create_app
        from app.taxonomy.service import seed_defaults
        from app.users.models import Role
        from app.users.service import ensure_user, issue_token

        upgrade_head()
        with Session(get_engine(), expire_on_commit=False) as s:
            seed_defaults(s)
            s.commit()
            _, fig["import_s"] = timed(import_ferv39k, s, work / "ferv39k")
            out, fig["votes_in_s"] = timed(put_votes, s, per_clip=args.votes_per_clip, workers=args.workers)
            fig.update(out)
            print(f"votes: {out['votes']} in {fig['votes_in_s']:.1f} s", file=sys.stderr)
            _, fig["consensus_s"] = timed(run_consensus, s, method="ds")
            fig["rss_before_release_mb"] = peak_mb()
            r, fig["release_s"] = timed(service.create_release, s, data=service.ReleaseIn(name="bench"))
            fig["rss_after_release_mb"] = peak_mb()
            fig["release_counts"] = r.counts
            print(f"release: {r.counts['included']} clips in {fig['release_s']:.1f} s", file=sys.stderr)
            admin = ensure_user(s, email="bench-admin@example.org", password="bench-admin-pw", role=Role.admin)
            token = issue_token(s, user=admin)
            s.commit()

            faces = work / "ferv39k" / "2_ClipsforFaceCrop"
            fig["cp_al_s"] = run_cmd(["cp", "-al", str(faces), str(work / "cp-al")])
            res, fig["export_s"] = timed(exports.export_release, s, name="bench", dest=work / "export",
                                         formats=("ferv39k",))
            fig["export_linked"], fig["export_copied"] = res["linked"], res["copied"]
            fig["cp_r_s"] = run_cmd(["cp", "-r", str(faces), str(work / "cp-r")])
            for d in ("cp-al", "cp-r", "export"):
                shutil.rmtree(work / d)
            _, fig["votes_export_s"] = timed(exports.export_release, s, name="bench", dest=work / "votes",
                                             formats=("votes",))
            fig["rss_after_exports_mb"] = peak_mb()

        votes_csv = work / "votes" / "votes.csv"
        fig["votes_csv_mb"] = votes_csv.stat().st_size / 1e6
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        t0 = time.perf_counter()
        agg = subprocess.run([sys.executable, "-m", "app.cli", "aggregate", str(votes_csv), "--method", "ds",
                              "--out", str(work / "labels.csv")], env=env, capture_output=True, text=True, cwd=ROOT)
        fig["aggregate_s"] = time.perf_counter() - t0
        fig["aggregate_out"] = agg.stdout.strip().splitlines()[-1] if agg.returncode == 0 else agg.stderr[-500:]
        ck_version = ensure_crowdkit()
        fig["crowdkit"] = ck_version
        if ck_version:
            from bench.consensus import CK_VENV

            t0 = time.perf_counter()
            ck = subprocess.run([str(CK_VENV / "bin" / "python"), str(Path(__file__).resolve()),
                                 "--crowdkit-worker", str(votes_csv)], capture_output=True, text=True, cwd=ROOT)
            fig["crowdkit_wall_s"] = time.perf_counter() - t0
            fig["crowdkit_out"] = json.loads(ck.stdout.strip().splitlines()[-1]) if ck.returncode == 0 else \
                {"error": ck.stderr[-500:]}

        fig.update(measure_pages(token))
        fig["peak_rss_mb"] = peak_mb()
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    fig["machine"] = f"{cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    fig["date"] = date.today().isoformat()
    print(json.dumps(fig, default=str))
    print(table(fig))


def pages_only(work: Path) -> None:
    os.environ.update(FERVLAB_VAR_DIR=str(work / "var"), FERVLAB_MEDIA_ROOT=str(work / "var" / "media"),
                      FERVLAB_ENV="dev")
    os.environ.pop("FERVLAB_DATABASE_URL", None)
    from sqlmodel import Session, func, select

    from app.core.db import get_engine
    from app.labeling.models import Annotation
    from app.users.models import Role
    from app.users.service import ensure_user, issue_token
    from bench.machine import cpu_model

    with Session(get_engine(), expire_on_commit=False) as s:
        votes = s.exec(select(func.count(Annotation.id))).one()
        admin = ensure_user(s, email="bench-admin@example.org", password="bench-admin-pw", role=Role.admin)
        token = issue_token(s, user=admin)
        s.commit()
    fig = Figures(votes=votes, **measure_pages(token))
    fig["machine"] = f"{cpu_model()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    print(json.dumps(fig, default=str))
    print(pages_table(fig))


def pages_table(f: dict) -> str:
    rows = []
    for key, label in (("page_datasets", "/datasets page"), ("page_release", "/datasets/releases/NAME page"),
                       ("api_release", "GET /api/v1/releases/NAME"), ("api_live", "GET /api/v1/datasets/live")):
        p = f[key]
        rows.append((label, f"first {p['cold_ms']:.0f} ms, then median {p['warm_median_ms']:.0f} ms"))
    rows += [("/datasets, first look after a new vote", f"{f['page_after_vote_ms']:.0f} ms"
              + (" (kept figures, marked as being refreshed)" if f["page_after_vote_refreshing"] else "")),
             ("  its figures counted in the background", f"{f['background_refresh_s']:.1f} s"),
             ("/datasets, first look of a restarted process", f"{f['page_restarted_ms']:.0f} ms")]
    return "\n".join(f"| {a} | {b} |" for a, b in rows)


def table(f: dict) -> str:
    ck = f.get("crowdkit_out") or {}
    rows = [
        ("clips / frames / votes", f"{f['clips']:,} / {f['frames']:,} / {f.get('votes', 0):,}"),
        ("import-ferv39k (service)", f"{f['import_s']:.1f} s"),
        ("votes put in (tables, batches of 50k)", f"{f['votes_in_s']:.1f} s"),
        ("consensus run (ds, all votes)", f"{f['consensus_s']:.1f} s"),
        ("release create (rows + frozen votes.csv + figures)", f"{f['release_s']:.1f} s"),
        ("FERV39k export (hard links)", f"{f['export_s']:.1f} s"),
        ("`cp -al` of the same frames", f"{f['cp_al_s']:.1f} s"),
        ("`cp -r` of the same frames", f"{f['cp_r_s']:.1f} s"),
        ("export / `cp -al`, export / `cp -r`", f"{f['export_s'] / f['cp_al_s']:.2f}×, {f['export_s'] / f['cp_r_s']:.2f}×"),
        ("votes export (votes.csv, %.0f MB)" % f["votes_csv_mb"], f"{f['votes_export_s']:.2f} s"),
        ("`fervlab aggregate votes.csv --method ds` end to end (subprocess)", f"{f['aggregate_s']:.1f} s"),
    ]
    if "seconds" in ck:
        rows += [(f"crowd-kit {f['crowdkit']} read_csv + DawidSkene(100).fit_predict",
                  f"{ck['seconds']:.1f} s (read {ck['read_s']:.1f} s, fit {ck['fit_s']:.1f} s)"),
                 ("crowd-kit / fervlab aggregate", f"{ck['seconds'] / f['aggregate_s']:.2f}×")]
    else:
        rows.append(("crowd-kit", f"not measured: {ck.get('error') or 'not installable'}"))
    rows += [("peak RSS before / after release create", f"{f['rss_before_release_mb']:.0f} / {f['rss_after_release_mb']:.0f} MB"),
             ("peak RSS of the whole bench process", f"{f['peak_rss_mb']:.0f} MB")]
    return ("| measure | result |\n|---|---:|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows) + "\n"
            + pages_table(f))


if __name__ == "__main__":
    main()
