"""fervlab's seven expressions, in the order every model output uses."""
from __future__ import annotations

from app.clips.ferv39k import EXPRESSIONS

CLASS_NAMES: tuple[str, ...] = tuple(e.lower() for e in EXPRESSIONS)
NUM_CLASSES = len(CLASS_NAMES)


def class_index(name: str) -> int:
    try:
        return CLASS_NAMES.index(name.lower())
    except ValueError:
        raise ValueError(f"unknown expression {name!r} (expected one of {', '.join(CLASS_NAMES)})") from None
