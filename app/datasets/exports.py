"""Exports of a release into a folder (written atomically), and the same as a
streamed .tar for downloads."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from app.clips.ferv39k import EXPRESSIONS
from app.clips.models import Clip
from app.core.config import get_settings
from app.core.errors import Conflict, DomainError, Invalid
from app.datasets import service
from app.datasets.formats import card, manifest
from app.datasets.formats.atomic import TargetNotEmpty, atomic_folder, is_disk_full
from app.datasets.formats.ferv39k_writer import Ferv39kClip, FrameWriter, ferv39k_spelling, write_ferv39k
from app.datasets.formats.tarstream import stream_tar, tar_size
from app.datasets.models import DatasetRelease, ReleaseClip
from app.videos.models import Video

FORMATS = ("ferv39k", "manifest", "votes", "card")
CHOICES = (*FORMATS, "all")


class ExportFailed(DomainError):
    """The export could not be written (e.g. the disk filled up); nothing was left behind."""

    status_code = 507


def parse_formats(value: str) -> tuple[str, ...]:
    parts = [p.strip().lower() for p in (value or "all").split(",") if p.strip()]
    bad = [p for p in parts if p not in CHOICES]
    if bad or not parts:
        raise Invalid(f"Unknown export format {', '.join(bad) or repr(value)}: choose from {', '.join(CHOICES)}.")
    return FORMATS if "all" in parts else tuple(f for f in FORMATS if f in parts)


def _clip_rows(session: Session, release: DatasetRelease) -> list[dict]:
    trc, tc, tv = ReleaseClip.__table__, Clip.__table__, Video.__table__
    rc, c, v = trc.c, tc.c, tv.c
    q = (sa.select(rc.clip_key, rc.ferv39k_path, rc.scenario, rc.scene, rc.expression, rc.descriptor, rc.posterior,
                   rc.votes, rc.agreement, rc.split, rc.source, c.source.label("clip_source"), v.filename, c.start_s,
                   c.end_s, c.start_frame, c.frame_count, c.fps, c.face_size, c.sharpness, c.det_confidence,
                   c.stability, c.face_dir)
         .select_from(trc.join(tc, c.id == rc.clip_id).outerjoin(tv, v.id == c.video_id))
         .where(rc.release_id == release.id).order_by(rc.ferv39k_path))
    return [dict(r._mapping) for r in session.execute(q)]


def _manifest_rows(rows: list[dict]) -> Iterator[dict]:
    for r in rows:
        yield {**r, "clip": r["clip_key"], "label_source": r["source"], "source": r["clip_source"],
               "source_video": r["filename"]}


def card_text(release: DatasetRelease) -> str:
    s = release.stats
    return card.render_card({
        "name": release.name, "created_at": release.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        "description": release.description, "licence": release.licence, "parent": release.parent_name,
        "params": release.params, "counts": release.counts, "stats": s,
        "consensus": {"method": release.consensus_method, "run_id": release.consensus_run_id,
                      "policy": s.get("policy")},
        "annotators": s.get("annotators", 0), "gold": s.get("gold", {"answered": 0, "correct": 0}),
        "diff": s.get("diff_to_parent")})


def _write(session: Session, release: DatasetRelease, folder: Path, formats: tuple[str, ...],
           writer: FrameWriter, progress) -> dict:
    rows = _clip_rows(session, release)
    out: dict = {"release": release.name, "formats": list(formats), "clips": len(rows)}
    if "ferv39k" in formats:
        unknown = sorted({r["expression"] for r in rows if r["expression"].lower() not in
                          {e.lower() for e in EXPRESSIONS}})
        if unknown:
            raise Invalid(f"Release '{release.name}' has expressions FERV39k has no folder for: {', '.join(unknown)}; "
                          "export it with --format manifest,votes,card.")
        root = get_settings().media_root
        scene, expr, number = zip(*(r["ferv39k_path"].split("/") for r in rows))
        clips = [Ferv39kClip(r["clip_key"], sc, ferv39k_spelling(ex), r["split"], root / r["face_dir"], num)
                 for r, sc, ex, num in zip(rows, scene, expr, number)]
        try:
            res = write_ferv39k(folder, clips, writer=writer, progress=progress)
        except FileNotFoundError as exc:
            raise Conflict(f"Cannot export '{release.name}' in the FERV39k layout: {exc}.") from None
        out.update(frames=res["frames"], linked=res["linked"], copied=res["copied"])
    if "manifest" in formats:
        manifest.write_manifest(folder / "clips.csv", _manifest_rows(rows))
    if "votes" in formats:
        frozen = service.release_dir(release.name) / service.VOTES_FILE
        if not frozen.is_file():
            raise Conflict(f"The frozen votes of release '{release.name}' are missing ({frozen}).")
        shutil.copyfile(frozen, folder / "votes.csv")
        out["votes"] = release.stats.get("frozen_votes", 0)
    if "card" in formats:
        (folder / "README.md").write_text(card_text(release), encoding="utf-8")
    return out


def export_release(session: Session, *, name: str, dest: Path, formats: tuple[str, ...] = FORMATS,
                   writer: FrameWriter | None = None, progress: Callable[[float], None] | None = None) -> dict:
    """Write the release into `dest` (new or empty); all or nothing."""
    release = service.get_release(session, name)
    dest = Path(dest)
    written = 0
    try:
        with atomic_folder(dest) as tmp:
            out = _write(session, release, tmp, formats, writer or FrameWriter(), progress)
            written = out.get("frames", 0)
    except TargetNotEmpty as exc:
        raise Conflict(f"Refusing to export into {exc}.") from None
    except OSError as exc:
        what = "the disk filled up" if is_disk_full(exc) else f"{exc.strerror or exc}"
        raise ExportFailed(f"Export of '{name}' failed: {what} while writing {dest} "
                           f"(after {written or 'some'} files); the partial export was removed and {dest} "
                           "was left as it was.") from None
    return {**out, "path": str(dest)}


def export_for_download(session: Session, *, name: str, formats: tuple[str, ...]) -> tuple[Path, Path, str]:
    """Export into a fresh folder under VAR/tmp (same file system as the media,
    so frames are hard links). Returns (folder to remove, export root, tar name)."""
    tmp_root = get_settings().var_dir.resolve() / "tmp"
    tmp_root.mkdir(parents=True, exist_ok=True)
    holder = Path(tempfile.mkdtemp(prefix="release-", dir=tmp_root))
    label = "all" if formats == FORMATS else "-".join(formats)
    base = f"{name}-{label}"
    try:
        export_release(session, name=name, dest=holder / base, formats=formats)
    except BaseException:
        shutil.rmtree(holder, ignore_errors=True)
        raise
    return holder, holder / base, f"{base}.tar"


def tar_stream(holder: Path, root: Path) -> tuple[Iterator[bytes], int]:
    """The tar of `root` and its byte count; `holder` is removed once it is sent
    (or the client goes away)."""
    size = tar_size(root, root.name)

    def gen() -> Iterator[bytes]:
        try:
            yield from stream_tar(root, root.name)
        finally:
            shutil.rmtree(holder, ignore_errors=True)

    return gen(), size


__all__ = ["CHOICES", "FORMATS", "ExportFailed", "export_release", "export_for_download", "parse_formats",
           "tar_stream", "card_text"]
