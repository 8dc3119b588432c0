"""Cost of trust: accuracy and votes per clip, adaptive overlap vs fixed overlap.

    .venv/bin/python bench/adaptive.py                     # default arms, print the table
    .venv/bin/python bench/adaptive.py --clips 500 --tau 0.9
    .venv/bin/python bench/adaptive.py --write             # ... and put it in BENCHMARKS.md

Simulated crowd: 30 annotators, skill uniform in [0.35, 0.9], 10% of them
spammers answering uniformly at random; an honest annotator is right with
probability `skill`, otherwise answers another expression drawn from
FERV39k's class shares (which are also the prior of the true labels).

Adaptive arm (one fresh SQLite database per arm, each in its own process):
the clips go through the REAL assignment engine and API (FastAPI TestClient:
GET /api/v1/campaigns/{id}/next, then POST /api/v1/annotations), annotators
picked at random. Every vote takes the consensus fast path (posterior with
the current run's annotator parameters, policy, adaptive overlap: one more
vote at a time up to max_overlap, then expert review); a full Dawid–Skene
run every `--recompute-every` votes learns the annotators' confusions, with
5% gold clips (mixed in at gold_rate 0.05) clamped. The arm ends when a full
run leaves nothing to deal. Clips sent to review are scored with their
consensus label (no expert in the simulation) and counted.

Fixed-overlap arm (numpy, same crowd): k distinct random annotators per clip,
majority vote with random tie-breaks; also Dawid–Skene at the same k.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model  # noqa: E402

# FERV39k class counts (the paper's Table): the prior of the truth and the
# distribution of wrong answers.
FERV39K_COUNTS = {"Angry": 4226, "Disgust": 1503, "Fear": 1467, "Happy": 9131, "Neutral": 13407,
                  "Sad": 6843, "Surprise": 2358}
NAMES = list(FERV39K_COUNTS)
SHARES = np.array(list(FERV39K_COUNTS.values()), dtype=float) / sum(FERV39K_COUNTS.values())


# -- the simulated crowd ---------------------------------------------------------------

def make_crowd(n: int, seed: int, spam_share: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """(skills, is_spammer) of n annotators."""
    rng = np.random.default_rng([seed, 1])
    skills = rng.uniform(0.35, 0.9, n)
    spam = np.zeros(n, dtype=bool)
    spam[rng.choice(n, int(round(spam_share * n)), replace=False)] = True
    return skills, spam


def answer(rng: np.random.Generator, skill: float, spammer: bool, truth: int) -> int:
    k = len(NAMES)
    if spammer:
        return int(rng.integers(k))
    if rng.random() < skill:
        return truth
    p = SHARES.copy()
    p[truth] = 0.0
    return int(rng.choice(k, p=p / p.sum()))


def answers(rng: np.random.Generator, skills, spam, workers: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Vectorised `answer` for many (worker, truth) pairs."""
    k = len(NAMES)
    out = np.empty(len(workers), dtype=np.int64)
    right = rng.random(len(workers)) < skills[workers]
    wrong_p = np.tile(SHARES, (k, 1))
    np.fill_diagonal(wrong_p, 0.0)
    wrong_p /= wrong_p.sum(axis=1, keepdims=True)
    cum = wrong_p.cumsum(axis=1)
    wrong = (rng.random(len(workers))[:, None] > cum[truth]).sum(axis=1)
    out[:] = np.where(right, truth, np.minimum(wrong, k - 1))
    s = spam[workers]
    out[s] = rng.integers(k, size=int(s.sum()))
    return out


# -- fixed overlap (numpy) ------------------------------------------------------------------

def qualified(n_workers: int, seed: int, *, gold: int, accuracy: float) -> np.ndarray:
    """Who passes a qualification of `gold` gold clips at `accuracy` (numpy
    stand-in for the campaign's quality control; the rolling pause is left out)."""
    skills, spam = make_crowd(n_workers, seed)
    rng = np.random.default_rng([seed, 4])
    p = np.where(spam, 1.0 / len(NAMES), skills)
    return np.flatnonzero(rng.binomial(gold, p) >= accuracy * gold - 1e-9)


def fixed_overlap(ks: list[int], *, n_workers: int, seed: int, pool: np.ndarray | None = None,
                  clips: int = 20000) -> list[dict]:
    from app.consensus.aggregators import Votes, get_aggregator
    from app.consensus.runs import RUN_DEFAULTS

    skills, spam = make_crowd(n_workers, seed)
    rng = np.random.default_rng([seed, 2])
    truth = rng.choice(len(NAMES), size=clips, p=SHARES)
    pool = np.arange(n_workers) if pool is None else np.asarray(pool)
    rows = []
    for k in ks:
        if k > len(pool):
            continue
        workers = pool[np.argsort(rng.random((clips, len(pool))), axis=1)[:, :k]]
        labels = answers(rng, skills, spam, workers.ravel(), np.repeat(truth, k)).reshape(clips, k)
        counts = np.zeros((clips, len(NAMES)))
        np.add.at(counts, (np.repeat(np.arange(clips), k), labels.ravel()), 1)
        top = counts == counts.max(axis=1, keepdims=True)
        pick = np.argmax(top * rng.random(top.shape), axis=1)  # random tie-break
        mv = float((pick == truth).mean())
        votes = Votes(items=np.repeat(np.arange(clips), k), workers=workers.ravel(), labels=labels.ravel(),
                      item_names=tuple(map(str, range(clips))), worker_names=tuple(map(str, range(n_workers))),
                      label_names=tuple(NAMES))
        ds = float((get_aggregator("ds", **RUN_DEFAULTS.get("ds", {})).fit(votes).labels_ == truth).mean())
        rows.append({"k": k, "mv": mv, "ds": ds})
    return rows


def oracle(tau: float, *, n_workers: int, seed: int, overlap: int, min_votes: int, max_overlap: int,
           clips: int = 4000) -> dict:
    """The same adaptive rule with the TRUE confusion matrices (no learning):
    a ceiling for any aggregator on this crowd with random assignment."""
    skills, spam = make_crowd(n_workers, seed)
    k = len(NAMES)
    wrong = np.tile(SHARES, (k, 1))
    np.fill_diagonal(wrong, 0.0)
    wrong /= wrong.sum(axis=1, keepdims=True)
    log_conf = np.log(np.array([np.full((k, k), 1.0 / k) if spam[w] else skills[w] * np.eye(k) + (1 - skills[w]) * wrong
                                for w in range(n_workers)]))
    rng = np.random.default_rng([seed, 5])
    truth = rng.choice(k, size=clips, p=SHARES)
    right = votes = 0
    for i in range(clips):
        order = rng.permutation(n_workers)[:max_overlap]
        said = answers(rng, skills, spam, order, np.full(len(order), truth[i]))
        lp = np.log(SHARES) + np.cumsum(log_conf[order, :, said], axis=0)  # after 1, 2, … votes
        post = np.exp(lp - lp.max(axis=1, keepdims=True))
        post /= post.sum(axis=1, keepdims=True)
        n = np.arange(1, len(order) + 1)
        done = np.flatnonzero((n >= max(min_votes, overlap)) & (post.max(axis=1) >= tau))
        j = int(done[0]) if done.size else len(order) - 1
        votes += j + 1
        right += int(post[j].argmax() == truth[i])
    return {"tau": tau, "accuracy": right / clips, "votes_per_clip": votes / clips}


# -- adaptive overlap through the engine (one process per arm) ----------------------------------

def _setup_env(tmp: Path) -> None:
    os.environ.update({"FERVLAB_VAR_DIR": str(tmp), "FERVLAB_ENV": "dev",
                       "FERVLAB_DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}", "FERVLAB_MEDIA_ROOT": str(tmp / "media"),
                       "FERVLAB_BROKER_URL": f"sqla+sqlite:///{tmp / 'broker.db'}"})


def run_arm(cfg: dict) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="fervlab-adaptive-"))
    _setup_env(tmp)
    import logging

    from fastapi.testclient import TestClient
    from sqlmodel import Session, select

    from app.clips.models import Clip, ClipSource, GoldAnswer
    from app.consensus import runs
    from app.consensus import service as consensus
    from app.consensus.models import ConsensusLabel
    from app.core.db import get_engine
    from app.core.migrate import upgrade_head
    from app.labeling import service as labelling
    from app.labeling.models import Annotation, CampaignCreate
    from app.main import create_app
    from app.taxonomy.models import Scene
    from app.taxonomy.service import seed_defaults
    from app.users.models import Role, User, UserCreate
    from app.users.service import create_user, issue_token

    logging.disable(logging.WARNING)
    random.seed(cfg["seed"])  # the dealer mixes gold in with the random module
    upgrade_head()
    rng = np.random.default_rng([cfg["seed"], 3])
    n, n_workers = cfg["clips"], cfg["annotators"]
    skills, spam = make_crowd(n_workers, cfg["seed"])
    with Session(get_engine(), expire_on_commit=False) as s:
        seed_defaults(s)
        s.commit()
        scenes = s.exec(select(Scene.id)).all()
        truth_codes = rng.choice(len(NAMES), size=n, p=SHARES)
        clips = [Clip(key=f"sim-{i:06d}", scene_id=scenes[i % len(scenes)], source=ClipSource.demo,
                      face_dir=f"sim/{i}") for i in range(n)]
        s.add_all(clips)
        s.flush()
        truth = {c.id: int(t) for c, t in zip(clips, truth_codes)}
        gold_ids = set(int(i) for i in rng.choice([c.id for c in clips], int(round(cfg["gold"] * n)), replace=False))
        s.add_all([GoldAnswer(clip_id=i, expression=NAMES[truth[i]]) for i in gold_ids])
        s.commit()
        people = []
        first = create_user(s, data=UserCreate(email="sim0@example.org", password="simulated-pass", role=Role.annotator))
        for w in range(n_workers):
            # One password hash for all (argon2 takes ~0.4 s a user here).
            u = first if w == 0 else User(email=f"sim{w}@example.org", role=Role.annotator,
                                          password_hash=first.password_hash)
            s.add(u)
            s.commit()
            people.append({"Authorization": f"Bearer {issue_token(s, user=u)}"})
        campaign = labelling.create_campaign(s, data=CampaignCreate(
            name="adaptive", overlap=cfg["overlap"], max_overlap=cfg["max_overlap"], min_votes=cfg["min_votes"],
            trust_threshold=cfg["tau"], gold_rate=cfg["gold_rate"], qualification_clips=cfg["qualification"],
            qualification_accuracy=cfg["qualification_accuracy"], pause_accuracy=cfg["pause_accuracy"],
            assisted=False, lease_seconds=24 * 3600))
        cid = campaign.id

    hook_times: list[float] = []
    original = consensus.on_annotation

    def timed(session, **kw):  # the labelling side looks the hook up on every vote
        t0 = time.perf_counter()
        try:
            return original(session, **kw)
        finally:
            hook_times.append(time.perf_counter() - t0)

    consensus.on_annotation = timed
    run_seconds: list[float] = []

    def full_run() -> None:
        t0 = time.perf_counter()
        with Session(get_engine(), expire_on_commit=False) as s:
            runs.run_consensus(s, method=cfg["method"], settings=cfg["settings"] or None)
        run_seconds.append(time.perf_counter() - t0)

    t_start = time.perf_counter()
    submitted = 0
    with TestClient(create_app()) as client:
        paused: set[int] = set()
        active = list(range(n_workers))
        voted_since_run = True
        while True:
            if not active:
                if not voted_since_run:
                    break  # a full run left nothing to deal
                full_run()
                voted_since_run = False
                active = [w for w in range(n_workers) if w not in paused]
                continue
            w = active[int(rng.integers(len(active)))]
            r = client.get(f"/api/v1/campaigns/{cid}/next", headers=people[w])
            if r.status_code in (204, 403):
                if r.status_code == 403:  # paused by quality control: gone for good
                    paused.add(w)
                active.remove(w)
                continue
            assert r.status_code == 200, r.text
            deal = r.json()
            label = answer(rng, skills[w], bool(spam[w]), truth[deal["clip_id"]])
            r = client.post("/api/v1/annotations", headers=people[w],
                            json={"assignment_id": deal["assignment_id"], "expression": NAMES[label]})
            assert r.status_code == 201, r.text
            submitted += 1
            voted_since_run = True
            if submitted % cfg["recompute_every"] == 0:
                full_run()
    wall = time.perf_counter() - t_start

    with Session(get_engine()) as s:
        rows = s.exec(select(ConsensusLabel.clip_id, ConsensusLabel.label, ConsensusLabel.status)
                      .where(ConsensusLabel.run_id.is_(None))).all()
        per_clip = {c: 0 for c in truth if c not in gold_ids}
        gold_votes = 0
        for clip_id in s.exec(select(Annotation.clip_id)).all():
            if clip_id in gold_ids:
                gold_votes += 1
            else:
                per_clip[clip_id] += 1
    labels = {c: (lab, str(st)) for c, lab, st in rows if c not in gold_ids}
    ordinary = [c for c in truth if c not in gold_ids]
    right = [labels.get(c, (None, ""))[0] == NAMES[truth[c]] for c in ordinary]
    statuses = [labels.get(c, (None, "needs_votes"))[1].split(".")[-1] for c in ordinary]
    trusted = [r for r, st in zip(right, statuses) if st == "trusted"]
    hook_ms = sorted(t * 1000 for t in hook_times)
    return {
        **cfg, "settings": {**runs.RUN_DEFAULTS.get(cfg["method"], {}), **(cfg["settings"] or {})},
        "accuracy": float(np.mean(right)),
        "expert_accuracy": float(np.mean([r or st == "review" for r, st in zip(right, statuses)])), "trusted_accuracy": float(np.mean(trusted)) if trusted else None,
        "votes_per_clip": float(np.mean(list(per_clip.values()))), "gold_votes_per_clip": gold_votes / len(ordinary),
        "status": {k: statuses.count(k) for k in ("trusted", "needs_votes", "review", "rejected")},
        "max_votes": max(per_clip.values()), "runs": len(run_seconds),
        "run_seconds_median": statistics.median(run_seconds) if run_seconds else None,
        "hook_ms_median": statistics.median(hook_ms), "hook_ms_p95": hook_ms[int(0.95 * (len(hook_ms) - 1))],
        "votes_total": submitted, "wall_seconds": round(wall, 1), "paused": sorted(paused),
        "paused_skills": [round(float(skills[w]), 2) if not spam[w] else "spam" for w in sorted(paused)],
    }


# -- report -------------------------------------------------------------------------------------

def machine() -> str:
    return f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu_model()}, Python {platform.python_version()}"


def table(arms: list[dict], fixed: list[dict], fixed_qc: list[dict], ceilings: list[dict], qc_note: str,
          argv: list[str]) -> str:
    lines = [
        f"Measured {dt.date.today().isoformat()} on {machine()}; SQLite (embedded), one process per arm.",
        "Command: `" + " ".join([".venv/bin/python bench/adaptive.py", *argv]) + "`",
        "",
        f"Crowd: {arms[0]['annotators'] if arms else 30} simulated annotators, skill U(0.35, 0.9), 10% spammers "
        "(uniform answers), wrong answers and truth prior from FERV39k's class shares.",
        "",
        "Accuracy scores every clip with its consensus label, also the clips sent to review; the next column "
        "counts those as settled by an expert instead (their share is the expert's cost).",
        "",
        "| Strategy | Accuracy | Votes / clip | + gold votes / clip | Trusted | Review | Trusted accuracy "
        "| Accuracy, review by expert | Fast path median / p95 (ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for a in arms:
        st = a["status"]
        n = sum(st.values())
        settings = f" {json.dumps(a['settings'])}" if a.get("settings") else ""
        qc = (f", QC: qualify {a['qualification']} gold ≥ {a['qualification_accuracy']:.0%}"
              + (f", pause < {a['pause_accuracy']:.0%}" if a["pause_accuracy"] else "")
              + f" ({len(a['paused'])} paused)") if a.get("qualification") else ", no QC"
        lines.append(
            f"| adaptive {a['method']}{settings}, τ={a['tau']}, overlap {a['overlap']}→{a['max_overlap']}, "
            f"{a['clips']} clips, {a['gold'] * 100:g}% gold{qc} | **{a['accuracy'] * 100:.2f}%** | "
            f"**{a['votes_per_clip']:.2f}** | {a['gold_votes_per_clip']:.2f} | {st['trusted'] / n * 100:.1f}% | "
            f"{st['review'] / n * 100:.1f}% | "
            f"{(a['trusted_accuracy'] or 0) * 100:.2f}% | {a['expert_accuracy'] * 100:.2f}% | "
            f"{a['hook_ms_median']:.2f} / {a['hook_ms_p95']:.2f} |")
    for c in ceilings:
        lines.append(f"| ceiling: the same adaptive rule knowing the true confusions, τ={c['tau']}, no QC | "
                     f"{c['accuracy'] * 100:.2f}% | {c['votes_per_clip']:.2f} | – | – | – | – | – | – |")
    for crowd, rows in (("", fixed), (f", {qc_note}", fixed_qc)):
        for f in rows:
            lines.append(f"| fixed overlap k={f['k']}, majority vote{crowd} | {f['mv'] * 100:.2f}% | {f['k']} "
                         "| – | – | – | – | – | – |")
        for f in rows:
            lines.append(f"| fixed overlap k={f['k']}, Dawid–Skene{crowd} | {f['ds'] * 100:.2f}% | {f['k']} "
                         "| – | – | – | – | – | – |")
    if arms:
        lines += ["", "Adaptive arms: " + "; ".join(
            f"τ={a['tau']}: {a['votes_total']} votes through the API in {a['wall_seconds']} s, {a['runs']} full runs "
            f"(median {a['run_seconds_median']:.2f} s), at most {a['max_votes']} votes on a clip"
            for a in arms) + "."]
    return "\n".join(lines)


def write_section(text: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    doc = path.read_text()
    head = "## Cost of trust (adaptive overlap)"
    start = doc.index(head) + len(head)
    nxt = doc.find("\n## ", start)
    end = nxt if nxt != -1 else len(doc)
    path.write_text(doc[:start] + "\n\n" + text.strip() + "\n" + doc[end:])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=2000)
    ap.add_argument("--annotators", type=int, default=30)
    ap.add_argument("--tau", type=float, nargs="*", default=[0.9, 0.97, 0.99, 0.995],
                    help="trust thresholds of the arms with quality control")
    ap.add_argument("--tau-no-qc", type=float, nargs="*", default=[0.9, 0.97],
                    help="trust thresholds of the arms without quality control")
    ap.add_argument("--overlap", type=int, default=3)
    ap.add_argument("--min-votes", type=int, default=3)
    ap.add_argument("--max-overlap", type=int, default=9)
    ap.add_argument("--gold", type=float, default=0.05, help="share of clips with a gold answer")
    ap.add_argument("--gold-rate", type=float, default=0.05, help="campaign gold_rate (mixing)")
    ap.add_argument("--recompute-every", type=int, default=500)
    ap.add_argument("--method", default="ds")
    ap.add_argument("--settings", type=json.loads, default=None,
                    help='aggregator settings for the full runs as JSON, e.g. \'{"smoothing": 1}\'')
    ap.add_argument("--qualification", type=int, default=10, help="QC arms: campaign qualification_clips")
    ap.add_argument("--qualification-accuracy", type=float, default=0.6, help="QC arms: qualification_accuracy")
    ap.add_argument("--pause-accuracy", type=float, default=0.5, help="QC arms: pause_accuracy (rolling gold)")
    ap.add_argument("--fixed-k", type=int, nargs="*", default=[3, 5, 7, 9, 11])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--write", action="store_true", help="write the table into BENCHMARKS.md")
    ap.add_argument("--arm", help=argparse.SUPPRESS)  # internal: run one arm, print JSON
    args = ap.parse_args()
    if args.arm:
        print(json.dumps(run_arm(json.loads(args.arm))))
        return
    arms = []
    plan = [(tau, True) for tau in args.tau] + [(tau, False) for tau in args.tau_no_qc]
    for tau, qc in plan:
        cfg = {"clips": args.clips, "annotators": args.annotators, "tau": tau, "overlap": args.overlap,
               "min_votes": args.min_votes, "max_overlap": args.max_overlap, "gold": args.gold,
               "gold_rate": args.gold_rate, "recompute_every": args.recompute_every, "method": args.method,
               "seed": args.seed, "settings": args.settings,
               "qualification": args.qualification if qc else 0, "qualification_accuracy": args.qualification_accuracy,
               "pause_accuracy": args.pause_accuracy if qc else 0.0}
        out = subprocess.run([sys.executable, __file__, "--arm", json.dumps(cfg)], capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if not k.startswith("FERVLAB_")})
        if out.returncode != 0:
            sys.exit(f"arm tau={tau} failed:\n{out.stderr[-3000:]}")
        arm = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(arm), file=sys.stderr)
        arms.append(arm)
    fixed = fixed_overlap(args.fixed_k, n_workers=args.annotators, seed=args.seed) if args.fixed_k else []
    pool = qualified(args.annotators, args.seed, gold=args.qualification, accuracy=args.qualification_accuracy)
    fixed_qc = fixed_overlap(args.fixed_k, n_workers=args.annotators, seed=args.seed, pool=pool) \
        if args.fixed_k and args.qualification else []
    qc_note = (f"qualified crowd ({len(pool)} of {args.annotators} pass {args.qualification} gold at "
               f"≥ {args.qualification_accuracy:.0%})")
    ceilings = [oracle(t, n_workers=args.annotators, seed=args.seed, overlap=args.overlap, min_votes=args.min_votes,
                       max_overlap=args.max_overlap) for t in args.tau_no_qc]
    text = table(arms, fixed, fixed_qc, ceilings, qc_note, [a for a in sys.argv[1:] if a != "--write"])
    print(text)
    if args.write:
        write_section(text)


if __name__ == "__main__":
    main()
