"""Releases: create (an immutable snapshot), list, show, diff, delete.

A release freezes, at the moment it is made, one row per clip (label,
posterior, votes, majority descriptor, split, where the label came from) and
the votes behind them (its own votes.csv under MEDIA_ROOT/releases/<name>/),
so later votes, reviews, undos or consensus runs never change it.
"""
from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path

import sqlalchemy as sa
from pydantic import BaseModel, Field, field_validator
from sqlmodel import Session, func, select

from app.clips.models import Clip
from app.consensus.models import ConsensusRun
from app.core.config import get_settings
from app.core.errors import Conflict, Invalid, NotFound
from app.core.types import Float, Int, Text
from app.datasets import live, selection
from app.datasets.diff import DiffRow, diff_releases
from app.datasets.formats.atomic import atomic_folder
from app.datasets.formats.ferv39k_writer import Ferv39kClip, clip_paths
from app.datasets.formats.votes import VotesWriter, pseudonym
from app.datasets.models import DatasetRelease, ReleaseClip
from app.datasets.split import DEFAULT_TEST_SHARE, place_new_clips
from app.datasets.stats import StatRow, dataset_stats
from app.labeling.models import Annotation, Campaign
from app.labeling.txn import write_transaction
from app.taxonomy.service import expression_names
from app.benchmarks.service import column_order

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
NAME_RULE = "1 to 80 letters, digits, '_', '.' or '-', starting with a letter or digit (it becomes a folder name)"
VOTES_FILE = "votes.csv"
_BATCH = 2000


class ReleaseIn(BaseModel):
    name: Text(80)
    min_posterior: Float(ge=0.0, le=1.0) | None = None
    scenes: list[Text(80)] | None = Field(None, max_length=500)
    parent: Text(80) | None = None
    test_share: Float(ge=0.0, le=1.0) = DEFAULT_TEST_SHARE
    seed: Int(0) = 0
    licence: Text(2000) = ""
    description: Text(2000) = ""

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        check_name(v)
        return v


def check_name(name: str) -> None:
    if not NAME_RE.fullmatch(name or ""):
        raise Invalid(f"Release name {name!r} is not allowed: use {NAME_RULE}.")


def release_dir(name: str) -> Path:
    return get_settings().media_root / "releases" / name


def get_release(session: Session, name: str) -> DatasetRelease:
    r = session.exec(select(DatasetRelease).where(DatasetRelease.name == name)).first()
    if r is None:
        raise NotFound(f"Release '{name}' does not exist.")
    return r


def list_releases(session: Session) -> list[DatasetRelease]:
    return list(session.exec(select(DatasetRelease).order_by(DatasetRelease.id)).all())


def release_rows(session: Session, release_id: int) -> list[ReleaseClip]:
    return list(session.exec(select(ReleaseClip).where(ReleaseClip.release_id == release_id)
                             .order_by(ReleaseClip.id)).all())


def release_public(r: DatasetRelease) -> dict:
    return {"name": r.name, "id": r.id, "parent": r.parent_name, "created_at": r.created_at, "params": r.params,
            "counts": r.counts, "clips": r.counts.get("included", 0), "splits": r.stats.get("splits", {}),
            "consensus_run_id": r.consensus_run_id, "consensus_method": r.consensus_method,
            "licence": r.licence, "description": r.description}


def _policy(session: Session) -> str:
    pairs = sorted(set(session.exec(select(Campaign.trust_threshold, Campaign.min_votes)).all()))
    if not pairs:
        return ""
    return "; ".join(f"trusted at posterior ≥ {t:g} with ≥ {v} votes" for t, v in pairs)


def _refusal(name: str, counts: dict) -> Invalid:
    why = ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in selection.COUNT_KEYS[2:] if counts.get(k))
    return Invalid(f"Release '{name}' would hold no clip: of {counts['clips']} clips none is trusted"
                   + (f" ({why})" if why else "") + ". Label, run the consensus or review clips first.")


def _place_splits(session: Session, picked: list[selection.Candidate], *, test_share: float, seed: int) -> None:
    """Give clips without a split one (stored on the clip, kept from then on)."""
    placed: dict[tuple, list[int]] = {}
    for c in picked:
        if c.split is not None:
            cell = placed.setdefault((c.scene_id, c.expression), [0, 0])
            cell[c.split == "test"] += 1
    new = place_new_clips([(c.key, (c.scene_id, c.expression)) for c in picked if c.split is None],
                          placed={k: tuple(v) for k, v in placed.items()}, test_share=test_share, seed=seed)
    updates = [{"cid": c.clip_id, "sp": new[c.key]} for c in picked if c.split is None]
    t = Clip.__table__
    stmt = sa.update(t).where(t.c.id == sa.bindparam("cid")).values(split=sa.bindparam("sp"))
    for start in range(0, len(updates), _BATCH):
        session.execute(stmt, updates[start:start + _BATCH])
    for c in picked:
        if c.split is None:
            c.split = new[c.key]


def _ferv39k_number(key: str, scene: str, expression: str) -> str | None:
    """A clip imported from FERV39k keeps its number where it stays in its folder."""
    parts = key.split("/")
    if len(parts) == 4 and parts[0] == "ferv39k" and parts[1] == scene and parts[2].lower() == expression.lower():
        return parts[3]
    return None


def _freeze_votes(conn: sa.Connection, picked: dict[int, selection.Candidate], folder: Path, up_to: int | None) -> dict:
    """Write the votes of the picked clips to folder/votes.csv; return the
    per-clip histograms and descriptors, the annotators and the gold record."""
    secret = get_settings().secret_key
    hist: dict[int, Counter] = {}
    desc: dict[int, Counter] = {}
    people: dict[int, str] = {}
    gold = {"answered": 0, "correct": 0}
    with (folder / VOTES_FILE).open("w", newline="", encoding="utf-8") as f:
        out = VotesWriter(f)
        for cid, uid, expr, descriptor, assisted, dur, at, is_gold, correct in selection.vote_stream(
                conn, up_to=up_to):
            cand = picked.get(cid)
            if cand is None:
                continue
            worker = people.get(uid) or people.setdefault(uid, pseudonym(uid, secret))
            out.write(cand.key, worker, expr, assisted, dur, at or "")
            hist.setdefault(cid, Counter())[expr] += 1
            if descriptor and expr == cand.expression:
                desc.setdefault(cid, Counter())[descriptor] += 1
            if is_gold and correct is not None:
                gold["answered"] += 1
                gold["correct"] += bool(correct)
    return {"hist": hist, "desc": desc, "annotators": len(people), "gold": gold, "votes": out.rows}


def _release_diff_rows(session: Session, release_id: int) -> dict[int, DiffRow]:
    t = ReleaseClip.__table__.c
    q = sa.select(t.clip_id, t.clip_key, t.scene, t.expression, t.split).where(t.release_id == release_id)
    return {cid: DiffRow(key, scene, expr, split) for cid, key, scene, expr, split in session.execute(q)}


def create_release(session: Session, *, data: ReleaseIn, user_id: int | None = None) -> DatasetRelease:
    if session.exec(select(DatasetRelease.id).where(DatasetRelease.name == data.name)).first() is not None:
        raise Conflict(f"A release named '{data.name}' exists already: releases never change, choose a new name.")
    parent = get_release(session, data.parent) if data.parent else session.exec(
        select(DatasetRelease).order_by(DatasetRelease.id.desc())).first()
    scenes = set(data.scenes) if data.scenes else None
    if scenes:
        known = {s for _, ss in column_order(session) for s in ss}
        unknown = sorted(scenes - known)
        if unknown:
            raise Invalid(f"Unknown scene(s): {', '.join(unknown)}.")
    picked, counts = selection.select_clips(session, min_posterior=data.min_posterior, scenes=scenes)
    if not picked:
        raise _refusal(data.name, counts)
    up_to = session.exec(select(func.max(Annotation.id))).one()
    run = session.exec(select(ConsensusRun).where(ConsensusRun.is_current)).first()
    parent_id, parent_name = (parent.id, parent.name) if parent else (None, None)
    session.commit()  # end the reads: on SQLite this transaction holds the write lock
    folder = release_dir(data.name)
    if folder.exists() and not any(folder.iterdir()):
        folder.rmdir()
    elif folder.exists():  # left by a release of this name that was deleted half-way
        shutil.rmtree(folder)
    with atomic_folder(folder) as tmp:
        # The long part (every vote) reads outside any write transaction.
        with selection.read_connection(session) as conn:
            frozen = _freeze_votes(conn, {c.clip_id: c for c in picked}, tmp, up_to)
        with write_transaction(session):
            release = _store(session, data, picked, counts, frozen, run=run, up_to=up_to, scenes=scenes,
                             parent_id=parent_id, parent_name=parent_name, user_id=user_id)
    live.invalidate()  # the clips it placed in train/test show on the dataset page at once
    return release


def _store(session: Session, data: ReleaseIn, picked: list[selection.Candidate], counts: dict, frozen: dict, *,
           run: ConsensusRun | None, up_to: int | None, scenes: set[str] | None, parent_id: int | None,
           parent_name: str | None, user_id: int | None) -> DatasetRelease:
    """The write half of create_release: splits, the release row and its clip rows."""
    _place_splits(session, picked, test_share=data.test_share, seed=data.seed)
    paths = clip_paths([Ferv39kClip(c.key, c.scene, c.expression, c.split, Path("."),
                                    _ferv39k_number(c.key, c.scene, c.expression)) for c in picked])
    release = DatasetRelease(
        name=data.name, parent_id=parent_id, parent_name=parent_name,
        created_by_id=user_id, counts=counts, consensus_run_id=run.id if run else None,
        consensus_method=run.method if run else None, last_annotation_id=up_to, licence=data.licence,
        description=data.description,
        params={"min_posterior": data.min_posterior, "scenes": sorted(scenes) if scenes else None,
                "test_share": data.test_share, "seed": data.seed})
    session.add(release)
    try:
        session.flush()
    except sa.exc.IntegrityError:
        raise Conflict(f"A release named '{data.name}' was just made by someone else: choose a new name.") \
            from None
    rows = []
    for c in picked:
        h = frozen["hist"].get(c.clip_id) or Counter()
        n = sum(h.values())
        d = frozen["desc"].get(c.clip_id)
        rows.append({"release_id": release.id, "clip_id": c.clip_id, "clip_key": c.key, "scenario": c.scenario,
                     "scene": c.scene, "expression": c.expression,
                     "descriptor": min(d, key=lambda k: (-d[k], k)) if d else None,
                     "posterior": c.posterior, "votes": n, "agreement": (h[c.expression] / n) if n else None,
                     "histogram": dict(h), "split": c.split, "source": c.source,
                     "consensus_run_id": run.id if run and c.source == "consensus" else None,
                     "review_id": c.review_id, "ferv39k_path": paths[c.key]})
    for start in range(0, len(rows), _BATCH):
        session.execute(sa.insert(ReleaseClip.__table__), rows[start:start + _BATCH])
    stats = dataset_stats(
        [StatRow(r["scenario"], r["scene"], r["expression"], r["split"], r["posterior"], r["votes"], r["source"],
                 r["histogram"]) for r in rows],
        scenes=[(sc, s) for sc, ss in column_order(session) for s in ss], expressions=expression_names(session))
    stats.update(annotators=frozen["annotators"], gold=frozen["gold"], policy=_policy(session),
                 frozen_votes=frozen["votes"])
    if parent_id is not None:
        mine = {r["clip_id"]: DiffRow(r["clip_key"], r["scene"], r["expression"], r["split"]) for r in rows}
        stats["diff_to_parent"] = diff_releases(_release_diff_rows(session, parent_id), mine)
    release.stats = stats
    session.add(release)
    return release


def diff(session: Session, *, a: str, b: str) -> dict:
    ra, rb = get_release(session, a), get_release(session, b)
    out = diff_releases(_release_diff_rows(session, ra.id), _release_diff_rows(session, rb.id))
    return {"a": ra.name, "b": rb.name, **out}


def delete_release(session: Session, *, name: str) -> None:
    r = get_release(session, name)
    for child in session.exec(select(DatasetRelease).where(DatasetRelease.parent_id == r.id)).all():
        child.parent_id = None  # the child keeps parent_name and its stored diff
        session.add(child)
    session.execute(sa.delete(ReleaseClip.__table__).where(ReleaseClip.__table__.c.release_id == r.id))
    session.delete(r)
    session.commit()
    shutil.rmtree(release_dir(name), ignore_errors=True)


def release_page(session: Session, release_id: int, *, limit: int, offset: int) -> tuple[list[dict], int]:
    total = session.exec(select(func.count()).select_from(ReleaseClip)
                         .where(ReleaseClip.release_id == release_id)).one()
    rows = session.exec(select(ReleaseClip).where(ReleaseClip.release_id == release_id)
                        .order_by(ReleaseClip.ferv39k_path).limit(limit).offset(offset)).all()
    return [r.model_dump(exclude={"id", "release_id"}) for r in rows], int(total)
