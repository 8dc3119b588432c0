"""The figures of a dataset (a release, or the live trusted labels): counts
per scenario, scene and expression (the FERV39k paper's distribution), class
shares, split sizes, agreement per scene, the posterior histogram. Pure:
rows in, a JSON-ready dict out."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from app.consensus.agreement import fleiss_kappa, krippendorff_alpha

POSTERIOR_BINS = 10


@dataclass
class StatRow:
    scenario: str
    scene: str
    expression: str
    split: str | None
    posterior: float | None
    votes: int
    source: str
    histogram: Mapping[str, int] = field(default_factory=dict)


def _num(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), 4)


def agreement(histograms: Sequence[Mapping[str, int]], expressions: Sequence[str]) -> dict:
    """Fleiss' κ and Krippendorff's α over the clips with two votes or more."""
    counts = np.array([[h.get(e, 0) for e in expressions] for h in histograms], dtype=float).reshape(-1, len(expressions))
    rated = int((counts.sum(axis=1) >= 2).sum()) if len(counts) else 0
    if rated == 0 or len(expressions) < 2:
        return {"kappa": None, "alpha": None, "clips": 0}
    return {"kappa": _num(fleiss_kappa(counts)), "alpha": _num(krippendorff_alpha(counts)), "clips": rated}


def posterior_histogram(values: Iterable[float | None]) -> dict:
    counts = [0] * POSTERIOR_BINS
    none = 0
    for v in values:
        if v is None:
            none += 1
            continue
        counts[min(POSTERIOR_BINS - 1, max(0, int(v * POSTERIOR_BINS)))] += 1
    edges = [round(i / POSTERIOR_BINS, 2) for i in range(POSTERIOR_BINS + 1)]
    return {"edges": edges, "counts": counts, "no_posterior": none}


def dataset_stats(rows: Sequence[StatRow], *, scenes: Sequence[tuple[str, str]], expressions: Sequence[str]) -> dict:
    """scenes: (scenario, scene) in display order; expressions: display order."""
    n = len(rows)
    heat: dict[str, Counter] = defaultdict(Counter)
    per_scenario: Counter = Counter()
    per_expression: Counter = Counter()
    splits: Counter = Counter()
    split_by_expression: dict[str, Counter] = defaultdict(Counter)
    sources: Counter = Counter()
    by_scene_hist: dict[str, list] = defaultdict(list)
    votes = 0
    for r in rows:
        heat[r.scene][r.expression] += 1
        per_scenario[r.scenario] += 1
        per_expression[r.expression] += 1
        splits[r.split or "none"] += 1
        split_by_expression[r.expression][r.split or "none"] += 1
        sources[r.source] += 1
        votes += r.votes
        if r.histogram:
            by_scene_hist[r.scene].append(r.histogram)
    all_hist = [h for hs in by_scene_hist.values() for h in hs]
    known = [s for _, s in scenes]
    extra = sorted(set(heat) - set(known))  # scenes since removed from the taxonomy
    scene_list = list(scenes) + [("", s) for s in extra]
    return {
        "clips": n,
        "expressions": list(expressions),
        "scenes": [{"scenario": sc, "scene": s} for sc, s in scene_list],
        "heatmap": {s: {e: heat[s][e] for e in expressions if heat[s][e]} for _, s in scene_list if heat.get(s)},
        "heatmap_max": max((v for c in heat.values() for v in c.values()), default=0),
        "per_scenario": dict(per_scenario),
        "per_scene": {s: sum(heat[s].values()) for _, s in scene_list if heat.get(s)},
        "per_expression": {e: per_expression[e] for e in expressions},
        "class_shares": {e: round(per_expression[e] / n, 4) if n else 0.0 for e in expressions},
        "splits": {"train": splits["train"], "test": splits["test"], **({"none": splits["none"]} if splits["none"] else {})},
        "split_by_expression": {e: {"train": split_by_expression[e]["train"], "test": split_by_expression[e]["test"]}
                                for e in expressions},
        "sources": dict(sources),
        "votes": votes,
        "votes_per_clip": round(votes / n, 2) if n else 0.0,
        "agreement": {s: agreement(by_scene_hist[s], expressions) for _, s in scene_list if by_scene_hist.get(s)},
        "agreement_all": agreement(all_hist, expressions),
        "posterior_histogram": posterior_histogram(r.posterior for r in rows),
    }
