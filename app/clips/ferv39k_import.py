"""`fervlab import-ferv39k ROOT`: the official release into clips with
trusted labels and the official split. Frames stay where they are (clips
point at them by absolute path), so nothing is copied."""
from __future__ import annotations

import time
from pathlib import Path

from sqlmodel import Session, select

from app.clips.ferv39k import iter_entries
from app.clips.models import Clip, ClipSource
from app.taxonomy.models import Scene

BATCH = 2000


def _taxonomy_name(label: str, names: list[str]) -> str:
    for n in names:
        if n.lower() == label.lower():
            return n
    raise ValueError(f"FERV39k expression {label!r} is not in the taxonomy")


def import_ferv39k(session: Session, root: Path, *, scenes: list[str] | None = None, limit: int | None = None,
                   skip_missing: bool = False, progress=None) -> dict:
    """Insert one Clip per index line (idempotent: existing keys are skipped).
    Returns counts per split and the seconds taken."""
    from app.taxonomy.service import expression_names

    t0 = time.perf_counter()
    root = Path(root).resolve()
    entries = list(iter_entries(root, scenes=scenes, limit=limit, skip_missing=skip_missing))
    scene_ids = {s.name: s.id for s in session.exec(select(Scene)).all()}
    missing = sorted({e.scene for e in entries} - set(scene_ids))
    if missing:
        raise ValueError(f"scenes not in the taxonomy: {', '.join(missing)} (add them first)")
    names = expression_names(session)
    existing = set(session.exec(select(Clip.key).where(Clip.source == ClipSource.ferv39k)).all())
    counts = {"train": 0, "test": 0, "skipped": 0}
    rows = []
    for i, e in enumerate(entries):
        key = f"ferv39k/{e.clip}"
        if key in existing:
            counts["skipped"] += 1
            continue
        rows.append(Clip(key=key, scene_id=scene_ids[e.scene], source=ClipSource.ferv39k, face_dir=str(e.frame_dir),
                         frame_count=e.frame_count, split=e.split, source_label=_taxonomy_name(e.label, names)))
        counts[e.split] += 1
        if len(rows) >= BATCH:
            session.add_all(rows)
            session.flush()
            rows = []
            if progress:
                progress((i + 1) / len(entries), "importing")
    session.add_all(rows)
    session.commit()
    if progress:
        progress(1.0, "done")
    return {"clips": counts["train"] + counts["test"], **counts, "seconds": round(time.perf_counter() - t0, 2)}
