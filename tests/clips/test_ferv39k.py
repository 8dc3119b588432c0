"""Reading the official FERV39k layout, and refusing anything else clearly."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.clips.ferv39k import FACE_DIR, SETUP_DIR, Ferv39kLayoutError, iter_entries, read_index
from tests.factories.ferv39k_tree import make_ferv39k_tree, read_real_index, shared_index_dir, synthetic_index


@pytest.fixture
def tree(tmp_path: Path):
    clips = make_ferv39k_tree(tmp_path, clips=synthetic_index(per_class=2, frames=3), limit=None, size=32)
    return tmp_path, clips


def test_entries_follow_the_split_index(tree):
    root, clips = tree
    entries = list(iter_entries(root))
    assert [(e.clip, e.split, e.frame_count) for e in entries] == sorted(
        ((c.clip, c.split, c.frames) for c in clips), key=lambda t: t[1] != "train")
    e = entries[0]
    assert e.frame_dir == root / FACE_DIR / e.scene / e.expression / e.number and e.frame_dir.is_dir()
    assert e.label == e.expression.lower()


def test_scenes_and_limit_select(tree):
    root, _ = tree
    assert {e.scene for e in iter_entries(root, scenes=["Interview"])} == {"Interview"}
    assert len(list(iter_entries(root, limit=5))) == 5
    with pytest.raises(Ferv39kLayoutError, match="Nowhere"):
        list(iter_entries(root, scenes=["Nowhere"]))


def test_real_index_tree_keeps_real_names_splits_and_frame_counts(tmp_path: Path):
    index_dir = shared_index_dir()
    if index_dir is None:
        pytest.skip("../shared/ferv39k is absent")
    real = {c.clip: c for c in read_real_index(index_dir)}
    assert len(real) == 38935
    written = make_ferv39k_tree(tmp_path, scenes=["Speech", "War"], limit=16, size=32)
    assert {c.expression for c in written} == {"Angry", "Disgust", "Fear", "Happy", "Neutral", "Sad", "Surprise"}
    for e in iter_entries(tmp_path):
        assert e.scene in ("Speech", "War")
        assert e.split == real[e.clip].split and e.frame_count == real[e.clip].frames


def test_missing_or_misshaped_root_is_a_clear_error(tmp_path: Path):
    with pytest.raises(Ferv39kLayoutError, match="not a folder"):
        list(iter_entries(tmp_path / "absent"))
    with pytest.raises(Ferv39kLayoutError, match=f"missing {FACE_DIR}"):
        list(iter_entries(tmp_path))
    (tmp_path / FACE_DIR).mkdir()
    (tmp_path / SETUP_DIR).mkdir(parents=True)
    with pytest.raises(Ferv39kLayoutError, match="missing split index .*train_All.csv"):
        read_index(tmp_path)


@pytest.mark.parametrize("line, message", [
    ("Speech/Happy/0001", "expected 'Scene/Expression/NNNN Expression'"),
    ("Speech/Happy Happy", "is not 'Scene/Expression/NNNN'"),
    ("Speech/Joy/0001 Joy", "unknown expression 'Joy'"),
    ("Speech/Happy/0001 Sad", "is labelled 'Sad'"),
])
def test_bad_index_line_names_file_and_line(tree, line: str, message: str):
    root, _ = tree
    csv = root / SETUP_DIR / "test_All.csv"
    csv.write_text(csv.read_text() + line + "\n")
    n = len(csv.read_text().splitlines())
    with pytest.raises(Ferv39kLayoutError, match=f"test_All.csv:{n}: .*{message}"):
        next(iter_entries(root))  # validated before the first entry


def test_clip_in_both_splits_is_an_error(tree):
    root, clips = tree
    train_clip = next(c for c in clips if c.split == "train")
    with (root / SETUP_DIR / "test_All.csv").open("a") as f:
        f.write(f"{train_clip.clip} {train_clip.expression}\n")
    with pytest.raises(Ferv39kLayoutError, match="train_All.csv and test_All.csv"):
        read_index(root)


def test_missing_clip_folder_is_an_error_unless_skipped(tree):
    root, clips = tree
    gone = root / FACE_DIR / clips[0].scene / clips[0].expression / clips[0].number
    for p in gone.iterdir():
        p.unlink()
    with pytest.raises(Ferv39kLayoutError, match="has no .jpg frames"):
        list(iter_entries(root))
    gone.rmdir()
    with pytest.raises(Ferv39kLayoutError, match="is missing"):
        list(iter_entries(root))
    assert len(list(iter_entries(root, skip_missing=True))) == len(clips) - 1


def test_reader_needs_no_torch():
    code = "import sys, app.clips.ferv39k; assert 'torch' not in sys.modules and 'cv2' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
