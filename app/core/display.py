"""How values are shown to people in pages: enums as words, job results as a
sentence. Pure functions; templating.py registers them as Jinja filters."""
from __future__ import annotations

from enum import Enum
from typing import Any


def raw(value: Any) -> Any:
    """An enum's value (for CSS classes and form values); anything else as is.
    Python ≥ 3.11 prints a `str` enum as `VideoStatus.queued`, which is never
    what a page means."""
    return value.value if isinstance(value, Enum) else value


def words(value: Any) -> str:
    """`LabelStatus.needs_votes` or "needs_votes" → "needs votes"."""
    value = raw(value)
    if value is None:
        return "–"
    return str(value).replace("_", " ")


_STATUS_WORDS = {"needs_votes": "need votes", "review": "in review"}


def _pct(v: Any) -> str:
    return f"{float(v) * 100:.1f}%" if isinstance(v, (int, float)) else "–"


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def job_result(kind: str, result: dict | None) -> str:
    """One line for a finished job's result, per kind; unknown kinds list
    their plain fields (never a JSON dump)."""
    r = result or {}
    if not r:
        return ""
    if kind == "train":
        parts = [f"checkpoint {r.get('checkpoint')}", str(r.get("model", "")),
                 _plural(r.get("epochs"), "epoch"), f"{_plural(r.get('train_clips'), 'clip')} trained on"]
        if r.get("final_loss") is not None:
            parts.append(f"final loss {r['final_loss']:.3f}")
        if r.get("device"):
            parts.append(f"on {r['device']}")
        if r.get("seconds") is not None:
            parts.append(f"{r['seconds']:.0f} s")
        return ", ".join(p for p in parts if p)
    if kind == "evaluate":
        return (f"checkpoint {r.get('checkpoint')}: WAR {_pct(r.get('war'))}, UAR {_pct(r.get('uar'))} "
                f"on {_plural(r.get('n'), 'test clip')}")
    if kind == "prerank":
        model = "the FER2013 prior" if r.get("model") == "prior" else f"checkpoint {r.get('model')}"
        return f"{_plural(r.get('clips'), 'clip')} ranked by {model} in {r.get('seconds', 0):.1f} s"
    if kind == "consensus":
        counts = r.get("counts") or {}
        settled = ", ".join(f"{n} {_STATUS_WORDS.get(k, words(k))}" for k, n in counts.items() if n)
        text = (f"run {r.get('id')} ({r.get('method')}): {_plural(r.get('items'), 'clip')}, "
                f"{_plural(r.get('votes'), 'vote')}")
        return f"{text}; {settled}" if settled else text
    plain = [f"{words(k)} {v}" for k, v in r.items() if isinstance(v, (str, int, float, bool)) or v is None]
    return ", ".join(plain)
