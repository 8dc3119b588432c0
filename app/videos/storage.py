"""Uploaded originals: streamed to a temporary file, size-checked, hashed,
then moved into place in one rename (never a half-written file in view)."""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.core.config import get_settings
from app.core.errors import Invalid, TooLarge

CHUNK = 1 << 20


@dataclass
class StagedFile:
    tmp_path: Path
    size: int
    sha256: str
    filename: str


def safe_filename(name: str) -> str:
    base = os.path.basename(name or "").strip() or "video"
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:120].lstrip(".")
    return base or "video"


def stage_upload(src: BinaryIO, filename: str) -> StagedFile:
    s = get_settings()
    tmp_dir = s.media_root / "uploads" / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    tmp = tmp_dir / f"{uuid.uuid4().hex}.part"
    h, size = hashlib.sha256(), 0
    try:
        with open(tmp, "wb") as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if size > s.max_upload_bytes:
                    raise TooLarge(f"{filename}: the file is larger than the {s.max_upload_mb} MB upload limit "
                                   "(FERVLAB_MAX_UPLOAD_MB).")
                h.update(chunk)
                out.write(chunk)
        if size == 0:
            raise Invalid(f"{filename}: the file is empty (0 bytes).")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return StagedFile(tmp_path=tmp, size=size, sha256=h.hexdigest(), filename=filename)


def stage_local(path: Path) -> StagedFile:
    with open(path, "rb") as f:
        return stage_upload(f, path.name)


def discard(staged: StagedFile) -> None:
    staged.tmp_path.unlink(missing_ok=True)


def publish(staged: StagedFile, video_id: int) -> str:
    """Move the staged file to videos/<id>/<name>; returns its path relative to MEDIA_ROOT."""
    root = get_settings().media_root
    rel = Path("videos") / str(video_id) / safe_filename(staged.filename)
    dest = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staged.tmp_path, dest)
    except OSError:
        shutil.move(str(staged.tmp_path), dest)
    return rel.as_posix()
