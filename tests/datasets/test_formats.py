"""The release formats on their own (no database), each through its reader."""
from __future__ import annotations

import errno
import io
import tarfile
from pathlib import Path

import pytest

from app.clips.ferv39k import iter_entries
from app.consensus.votes_csv import read_votes
from app.datasets.formats import manifest
from app.datasets.formats.atomic import TargetNotEmpty, atomic_folder
from app.datasets.formats.ferv39k_writer import Ferv39kClip, FrameWriter, clip_paths, write_ferv39k
from app.datasets.formats.tarstream import stream_tar, tar_size
from app.datasets.formats.votes import pseudonym, write_votes


def _frames(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(1, n + 1):
        (folder / f"{i:05d}.jpg").write_bytes(b"\xff\xd8jpeg" + bytes([i]))
    return folder


@pytest.fixture
def clips(tmp_path) -> list[Ferv39kClip]:
    src = tmp_path / "src"
    return [
        Ferv39kClip("ferv39k/DailyLife/Happy/0267", "DailyLife", "Happy", "train", _frames(src / "a", 3), "0267"),
        Ferv39kClip("test-1", "DailyLife", "happy", "test", _frames(src / "b", 2)),
        Ferv39kClip("test-2", "DailyLife", "Happy", "train", _frames(src / "c", 4)),
        Ferv39kClip("test-3", "War", "Sad", "test", _frames(src / "d", 1)),
    ]


def test_ferv39k_export_reads_back_with_the_same_clips_labels_splits_and_frames(tmp_path, clips):
    out = write_ferv39k(tmp_path / "out", clips)
    assert out["clips"] == 4 and out["frames"] == 10
    entries = {e.clip: e for e in iter_entries(tmp_path / "out")}
    paths = out["paths"]
    assert paths["ferv39k/DailyLife/Happy/0267"] == "DailyLife/Happy/0267"  # a FERV39k clip keeps its number
    assert set(entries) == set(paths.values())
    for c in clips:
        e = entries[paths[c.key]]
        assert (e.label, e.split, e.frame_count) == (c.expression.lower(), c.split, len(list(c.frame_dir.iterdir())))


def test_frames_are_hard_links_on_one_file_system_and_copies_when_links_fail(tmp_path, clips):
    write_ferv39k(tmp_path / "linked", clips)
    frame = tmp_path / "linked" / "2_ClipsforFaceCrop" / "War" / "Sad" / "0000" / "00001.jpg"
    assert frame.stat().st_ino == (clips[3].frame_dir / "00001.jpg").stat().st_ino
    writer = FrameWriter()

    def cross_device(src, dst):
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    writer.link = cross_device
    out = write_ferv39k(tmp_path / "copied", clips, writer=writer)
    assert out["copied"] == 10 and out["linked"] == 0
    frame = tmp_path / "copied" / "2_ClipsforFaceCrop" / "War" / "Sad" / "0000" / "00001.jpg"
    assert frame.read_bytes() == (clips[3].frame_dir / "00001.jpg").read_bytes()
    assert frame.stat().st_ino != (clips[3].frame_dir / "00001.jpg").stat().st_ino


def test_numbers_are_stable_and_never_collide():
    cs = [Ferv39kClip(f"k{i}", "S", "Angry", "train", Path("."), "0001" if i < 2 else None) for i in range(4)]
    paths = clip_paths(cs)
    assert len(set(paths.values())) == 4 and paths["k0"] == "S/Angry/0001"
    assert clip_paths(list(reversed(cs))) == paths


def test_a_full_disk_mid_export_leaves_nothing(tmp_path, clips):
    writer = FrameWriter()
    done = []

    def filling(src, dst):
        if len(done) == 5:
            raise OSError(errno.ENOSPC, "No space left on device")
        done.append(dst)
        Path(dst).write_bytes(Path(src).read_bytes())

    writer.link = filling
    dest = tmp_path / "export"
    with pytest.raises(OSError) as exc, atomic_folder(dest) as tmp:
        write_ferv39k(tmp, clips, writer=writer)
    assert exc.value.errno == errno.ENOSPC
    assert len(done) == 5  # it did stop half-way
    assert not dest.exists() and list(tmp_path.glob(".export.partial-*")) == []


def test_atomic_folder_refuses_a_non_empty_target_and_accepts_an_empty_one(tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(TargetNotEmpty, match="not empty"), atomic_folder(full):
        pass
    assert (full / "keep.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_folder(empty) as tmp:
        (tmp / "a.txt").write_text("x")
        assert not (empty / "a.txt").exists()  # invisible until the end
    assert (empty / "a.txt").read_text() == "x"


def test_votes_file_is_what_fervlab_aggregate_reads(tmp_path):
    rows = [("clip-a", pseudonym(1, "s"), "Happy", True, 1200, "2026-12-01T10:00:00"),
            ("clip-a", pseudonym(2, "s"), "Happy", False, None, "2026-12-01T10:01:00"),
            ("clip-b", pseudonym(1, "s"), "Sad", False, 800, "2026-12-01T10:02:00")]
    assert write_votes(tmp_path / "votes.csv", rows) == 3
    votes = read_votes(tmp_path / "votes.csv")
    assert votes.n_votes == 3 and votes.n_items == 2 and votes.n_workers == 2
    assert pseudonym(1, "s") != pseudonym(1, "other secret") and "1" not in pseudonym(1, "s")[:1]


def test_manifest_round_trip(tmp_path):
    rows = [{"clip": "k1", "scene": "War", "expression": "Sad", "posterior": 0.93456789, "votes": 3, "split": "test"}]
    manifest.write_manifest(tmp_path / "clips.csv", rows)
    back = manifest.read_manifest(tmp_path / "clips.csv")
    assert back[0]["clip"] == "k1" and back[0]["posterior"] == "0.934568" and back[0]["descriptor"] == ""


def test_tar_stream_is_the_folder_in_bounded_pieces(tmp_path):
    root = tmp_path / "rel"
    (root / "a" / "b").mkdir(parents=True)
    big = bytes(range(256)) * 5000  # 1.28 MB
    (root / "a" / "b" / "big.bin").write_bytes(big)
    (root / "README.md").write_text("hello")
    pieces = list(stream_tar(root, "rel", chunk=64 * 1024))
    assert max(len(p) for p in pieces) <= 64 * 1024 + 4096  # never the whole file at once
    data = b"".join(pieces)
    assert len(data) == tar_size(root, "rel")
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert tar.extractfile("rel/a/b/big.bin").read() == big
        assert tar.extractfile("rel/README.md").read() == b"hello"
        assert tar.getmember("rel/a").isdir()
