"""A folder as a streamed .tar: ustar/pax headers by tarfile, file bodies read
and sent in chunks, so a release of any size is never held in memory. Pure."""
from __future__ import annotations

import os
import tarfile
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1 << 20
BLOCK = tarfile.BLOCKSIZE
RECORD = tarfile.RECORDSIZE


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    """Folders before their contents, names sorted: the same tar every time."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        base = Path(dirpath)
        rel = base.relative_to(root).as_posix()
        if rel != ".":
            yield base, rel
        for name in sorted(filenames):
            yield base / name, f"{rel}/{name}" if rel != "." else name


def tar_size(root: Path, prefix: str) -> int:
    """The byte count stream_tar will send (for Content-Length)."""
    total = 0
    for path, rel in _walk(Path(root)):
        total += len(_header(path, f"{prefix}/{rel}"))
        if path.is_file():
            size = path.stat().st_size
            total += size + (-size % BLOCK)
    total += 2 * BLOCK
    return total + (-total % RECORD)


def _header(path: Path, arcname: str) -> bytes:
    st = path.stat()
    info = tarfile.TarInfo(arcname)
    info.mtime = int(st.st_mtime)
    if path.is_dir():
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size, info.mode = st.st_size, 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def stream_tar(root: Path, prefix: str, *, chunk: int = CHUNK) -> Iterator[bytes]:
    """Yield the tar of `root`, its members under `prefix/`; no piece is
    larger than `chunk` plus one header."""
    sent = 0
    for path, rel in _walk(Path(root)):
        head = _header(path, f"{prefix}/{rel}")
        yield head
        sent += len(head)
        if not path.is_file():
            continue
        size = path.stat().st_size
        with path.open("rb") as f:
            left = size
            while left > 0:
                data = f.read(min(chunk, left))
                if not data:
                    raise OSError(f"{path} shrank while it was being sent")
                left -= len(data)
                sent += len(data)
                yield data
        pad = -size % BLOCK
        if pad:
            sent += pad
            yield b"\0" * pad
    end = 2 * BLOCK
    end += -(sent + end) % RECORD
    yield b"\0" * end
