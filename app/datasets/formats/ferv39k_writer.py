"""Writer of the official FERV39k layout, the inverse of app/clips/ferv39k.py:

    ROOT/2_ClipsforFaceCrop/<Scene>/<Expression>/<NNNN>/*.jpg
    ROOT/4_setups/All_scenes/{train,test}_All.csv   lines "Scene/Expression/NNNN Expression"

Frames are hard-linked where the target is on the same file system (no bytes
copied, the export costs what `cp -al` costs) and copied otherwise. Pure: no
database. Clip numbers: a clip that came from FERV39k under the same scene and
expression keeps its number; the others get the next free numbers of their
folder, in key order, so the same release always writes the same tree.
"""
from __future__ import annotations

import errno
import os
import shutil
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from app.clips.ferv39k import EXPRESSIONS, FACE_DIR, SETUP_DIR, SPLITS, split_index_path

# Errors of os.link that mean "link not possible here", not "something broke".
_NO_LINK = {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EACCES}


@dataclass(frozen=True)
class Ferv39kClip:
    key: str
    scene: str
    expression: str  # any case; written in FERV39k's spelling
    split: str  # train | test
    frame_dir: Path
    number: str | None = None  # a number to keep (e.g. the clip's own FERV39k number)


def ferv39k_spelling(expression: str) -> str:
    for name in EXPRESSIONS:
        if name.lower() == expression.lower():
            return name
    raise ValueError(f"expression {expression!r} has no FERV39k folder (FERV39k has {', '.join(EXPRESSIONS)})")


def clip_paths(clips: Sequence[Ferv39kClip]) -> dict[str, str]:
    """clip key → "<Scene>/<Expression>/<NNNN>" (deterministic, see module doc)."""
    groups: dict[tuple[str, str], list[Ferv39kClip]] = defaultdict(list)
    for c in clips:
        groups[(c.scene, ferv39k_spelling(c.expression))].append(c)
    out: dict[str, str] = {}
    for (scene, expr), members in groups.items():
        taken: set[str] = set()
        for c in sorted(members, key=lambda c: c.key):
            if c.number is not None and c.number not in taken:
                taken.add(c.number)
                out[c.key] = f"{scene}/{expr}/{c.number}"
        width = max([4] + [len(n) for n in taken])
        nxt = 0
        for c in sorted(members, key=lambda c: c.key):
            if c.key in out:
                continue
            while f"{nxt:0{width}d}" in taken:
                nxt += 1
            number = f"{nxt:0{width}d}"
            taken.add(number)
            out[c.key] = f"{scene}/{expr}/{number}"
    return out


class FrameWriter:
    """Hard link, or copy once links fail; `link=False` always copies. The
    file operations are attributes so a test can inject a fault (a full disk)."""

    def __init__(self, *, link: bool = True):
        self.linking = link
        self.linked = self.copied = 0
        self.link: Callable[[str, str], None] = os.link
        self.copy: Callable[[str, str], object] = shutil.copyfile

    def __call__(self, src: str, dst: str) -> None:
        if self.linking:
            try:
                self.link(src, dst)
                self.linked += 1
                return
            except OSError as exc:
                if exc.errno not in _NO_LINK:
                    raise
                self.linking = False  # another file system: copy from now on
        self.copy(src, dst)
        self.copied += 1


def frame_names(frame_dir: Path) -> list[str]:
    """The .jpg file names of a clip folder, sorted ([] when it is missing)."""
    try:
        with os.scandir(frame_dir) as it:
            return sorted(e.name for e in it if e.name.lower().endswith(".jpg"))
    except (FileNotFoundError, NotADirectoryError):
        return []


def write_ferv39k(root: Path, clips: Sequence[Ferv39kClip], *, writer: FrameWriter | None = None,
                  progress: Callable[[float], None] | None = None) -> dict:
    """Write the tree under `root` (an empty folder; atomicity is the caller's,
    see atomic.py). Returns {"clips", "frames", "linked", "copied", "paths"}."""
    root = Path(root)
    writer = writer or FrameWriter()
    paths = clip_paths(clips)
    listed = [frame_names(c.frame_dir) for c in clips]  # all checked before the first file is written
    missing = [c.key for c, names in zip(clips, listed) if not names]
    if missing:
        raise FileNotFoundError(f"{len(missing)} clip(s) have no .jpg frames on disk (first: {missing[0]})")
    faces = os.path.join(root, FACE_DIR)
    frames = 0
    for i, (c, names) in enumerate(zip(clips, listed)):
        # Plain strings and os calls: a million frames make Path's overhead count.
        target = os.path.join(faces, paths[c.key])
        os.makedirs(target)
        src = os.fspath(c.frame_dir)
        for name in names:
            writer(os.path.join(src, name), os.path.join(target, name))
        frames += len(names)
        if progress and i % 500 == 0:
            progress(i / max(1, len(clips)))
    (root / SETUP_DIR).mkdir(parents=True, exist_ok=True)
    by_split = {c.key: c.split for c in clips}
    for split in SPLITS:
        lines = sorted(f"{p} {p.split('/')[1]}\n" for key, p in paths.items() if by_split[key] == split)
        split_index_path(root, split).write_text("".join(lines), encoding="utf-8")
    return {"clips": len(clips), "frames": frames, "linked": writer.linked, "copied": writer.copied, "paths": paths}
