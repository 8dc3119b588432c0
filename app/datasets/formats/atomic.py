"""Write a folder so that it appears whole or not at all: everything goes into
a hidden sibling, renamed into place at the end; any failure (a full disk, an
interrupt) removes the sibling and leaves the target as it was."""
from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class TargetNotEmpty(Exception):
    """The target folder exists and holds something: it is never overwritten."""


def check_target(dest: Path) -> None:
    dest = Path(dest)
    if dest.exists():
        if not dest.is_dir():
            raise TargetNotEmpty(f"{dest} exists and is not a folder")
        if any(dest.iterdir()):
            raise TargetNotEmpty(f"{dest} is not empty: choose a new or an empty folder")


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def atomic_folder(dest: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `dest`; on success it becomes `dest`."""
    dest = Path(dest).absolute()
    check_target(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        check_target(dest)  # somebody may have written there meanwhile
        if dest.exists():
            dest.rmdir()  # empty (checked): rename needs it gone
        os.rename(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
