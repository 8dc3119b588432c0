"""Reader of the official FERV39k layout (Wang et al., CVPR 2022).

    ROOT/2_ClipsforFaceCrop/<Scene>/<Expression>/<NNNN>/*.jpg
    ROOT/4_setups/All_scenes/train_All.csv    lines "Scene/Expression/NNNN Expression"
    ROOT/4_setups/All_scenes/test_All.csv

Pure: no torch, no database (the web process imports it for `fervlab import`).
The split index decides which clips exist and their split; folders on disk that
the index does not name are ignored.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

# FERV39k's folder names, in fervlab's class order (alphabetical, as in the paper).
EXPRESSIONS: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise")

FACE_DIR = "2_ClipsforFaceCrop"
SETUP_DIR = Path("4_setups") / "All_scenes"
SPLITS: tuple[Literal["train", "test"], ...] = ("train", "test")

Split = Literal["train", "test"]


class Ferv39kLayoutError(ValueError):
    """The folder is not (or not entirely) a FERV39k release."""


@dataclass(frozen=True)
class IndexLine:
    scene: str
    expression: str
    number: str
    split: Split

    @property
    def clip(self) -> str:
        return f"{self.scene}/{self.expression}/{self.number}"


@dataclass(frozen=True)
class Ferv39kEntry:
    scene: str
    expression: str  # FERV39k spelling, e.g. "Happy"; .label gives fervlab's "happy"
    number: str  # "0267": kept as text, the folder name
    split: Split
    frame_dir: Path
    frame_count: int

    @property
    def clip(self) -> str:
        return f"{self.scene}/{self.expression}/{self.number}"

    @property
    def label(self) -> str:
        return self.expression.lower()


def split_index_path(root: Path, split: Split) -> Path:
    return Path(root) / SETUP_DIR / f"{split}_All.csv"


def parse_index_line(line: str, *, split: Split, where: str = "") -> IndexLine:
    """Parse "Scene/Expression/NNNN Expression"; raise with the place on error."""
    parts = line.split()
    if len(parts) != 2:
        raise Ferv39kLayoutError(f"{where}: expected 'Scene/Expression/NNNN Expression', got {line!r}")
    clip, expression = parts
    pieces = clip.split("/")
    if len(pieces) != 3 or not all(pieces):
        raise Ferv39kLayoutError(f"{where}: clip {clip!r} is not 'Scene/Expression/NNNN'")
    scene, folder_expression, number = pieces
    if expression not in EXPRESSIONS:
        raise Ferv39kLayoutError(
            f"{where}: unknown expression {expression!r} (expected one of {', '.join(EXPRESSIONS)})"
        )
    if folder_expression != expression:
        raise Ferv39kLayoutError(f"{where}: clip {clip!r} is labelled {expression!r}")
    return IndexLine(scene=scene, expression=expression, number=number, split=split)


def read_split_index(path: Path, *, split: Split) -> list[IndexLine]:
    path = Path(path)
    if not path.is_file():
        raise Ferv39kLayoutError(f"missing split index {path}")
    lines: list[IndexLine] = []
    with path.open(encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            if raw.strip():
                lines.append(parse_index_line(raw, split=split, where=f"{path}:{n}"))
    return lines


def read_index(root: Path) -> list[IndexLine]:
    """Both splits of a FERV39k root, train first; a clip listed twice is an error."""
    root = Path(root)
    _check_root(root)
    lines = [line for split in SPLITS for line in read_split_index(split_index_path(root, split), split=split)]
    seen: dict[str, Split] = {}
    for line in lines:
        if line.clip in seen:
            raise Ferv39kLayoutError(f"{line.clip} is listed in {seen[line.clip]}_All.csv and {line.split}_All.csv")
        seen[line.clip] = line.split
    return lines


def iter_entries(
    root: Path,
    *,
    scenes: Iterable[str] | None = None,
    limit: int | None = None,
    skip_missing: bool = False,
) -> Iterator[Ferv39kEntry]:
    """Every clip of the split index that has its frames on disk.

    The whole index is validated before the first entry is yielded, so a bad
    CSV never leaves an import half done. A clip folder missing or empty is an
    error unless `skip_missing` (a partial download).
    """
    root = Path(root)
    lines = read_index(root)
    if scenes is not None:
        wanted = set(scenes)
        unknown = wanted - {line.scene for line in lines}
        if unknown:
            raise Ferv39kLayoutError(f"scenes not in the FERV39k index: {', '.join(sorted(unknown))}")
        lines = [line for line in lines if line.scene in wanted]
    faces = root / FACE_DIR
    yielded = 0
    for line in lines:
        if limit is not None and yielded >= limit:
            return
        frame_dir = faces / line.scene / line.expression / line.number
        count = count_frames(frame_dir)
        if count == 0:
            if skip_missing:
                continue
            state = "has no .jpg frames" if frame_dir.is_dir() else "is missing"
            raise Ferv39kLayoutError(f"{frame_dir} ({line.split}_All.csv) {state}")
        yield Ferv39kEntry(
            scene=line.scene,
            expression=line.expression,
            number=line.number,
            split=line.split,
            frame_dir=frame_dir,
            frame_count=count,
        )
        yielded += 1


def count_frames(frame_dir: Path) -> int:
    try:
        return sum(1 for p in Path(frame_dir).iterdir() if p.suffix.lower() == ".jpg")
    except (FileNotFoundError, NotADirectoryError):
        return 0


def _check_root(root: Path) -> None:
    if not root.is_dir():
        raise Ferv39kLayoutError(f"FERV39k root {root} is not a folder")
    missing = [str(p.relative_to(root)) for p in (root / FACE_DIR, root / SETUP_DIR) if not p.is_dir()]
    if missing:
        raise Ferv39kLayoutError(
            f"{root} is not a FERV39k root: missing {', '.join(missing)} "
            f"(expected {FACE_DIR}/<Scene>/<Expression>/<NNNN>/*.jpg and {SETUP_DIR}/{{train,test}}_All.csv)"
        )
