"""Aggregators by name, so settings files and the CLI can say ``--method ds``."""

from __future__ import annotations

from typing import Any

from .base import Aggregator
from .dawid_skene import DawidSkene, OneCoinDawidSkene
from .glad import GLAD
from .mace import MACE
from .majority import MajorityVote, Wawa
from .votes import AggregationError

__all__ = ["AGGREGATORS", "DEFAULT_METHOD", "available_aggregators", "get_aggregator"]

AGGREGATORS: dict[str, type[Aggregator]] = {
    cls.name: cls for cls in (MajorityVote, Wawa, DawidSkene, OneCoinDawidSkene, GLAD, MACE)
}

# Dawid–Skene: best or tied-best on the real crowd sets among the methods that
# also model class-dependent confusions (fear vs surprise), see BENCHMARKS.md.
DEFAULT_METHOD = "ds"


def available_aggregators() -> list[str]:
    return list(AGGREGATORS)


def get_aggregator(name: str = DEFAULT_METHOD, **settings: Any) -> Aggregator:
    """A new, unfitted aggregator by registry name (``mv``, ``wawa``, ``ds``,
    ``onecoin``, ``glad``, ``mace``), with optional settings for its ``__init__``."""
    try:
        cls = AGGREGATORS[name.lower()]
    except KeyError:
        raise AggregationError(
            f"unknown aggregation method {name!r}; choose one of {available_aggregators()}"
        ) from None
    try:
        return cls(**settings)
    except TypeError as exc:
        raise AggregationError(f"bad settings for {name!r}: {exc}") from None
