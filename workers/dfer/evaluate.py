"""Evaluate a checkpoint on labelled clips: WAR/UAR overall, per scenario,
per scene, recall per expression, confusion matrices."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from workers.dfer.checkpoint import load_model
from workers.dfer.data import FrameCache, Sample
from workers.dfer.device import resolve_device
from workers.dfer.inference import predict_probs
from workers.dfer.labels import CLASS_NAMES, NUM_CLASSES
from workers.dfer.metrics import Scores, recalls, scores, scores_by
from workers.dfer.prerank import PredictionOut, predictions_from_probs


@dataclass(frozen=True)
class ScopeScores:
    """One row of results: scope all | scenario | scene | class. For a class,
    `war` is its recall (None: no clips of it) and `uar` is None."""

    scope: str
    key: str
    war: float | None
    uar: float | None
    n: int
    confusion: list[list[int]]


@dataclass(frozen=True)
class EvalResult:
    model_name: str
    n: int
    war: float
    uar: float
    confusion: list[list[int]]  # rows: true class, columns: predicted, CLASS_NAMES order
    per_class: dict[str, float | None]  # recall per expression
    per_scenario: dict[str, Scores]
    per_scene: dict[str, Scores]
    predictions: list[PredictionOut]

    def rows(self) -> list[ScopeScores]:
        """Everything as flat rows, ready to store one per (scope, key)."""
        out = [ScopeScores("all", "", self.war, self.uar, self.n, self.confusion)]
        for scope, groups in (("scenario", self.per_scenario), ("scene", self.per_scene)):
            out += [ScopeScores(scope, k, s.war, s.uar, s.n, s.confusion) for k, s in groups.items()]
        support = [sum(row) for row in self.confusion]
        out += [ScopeScores("class", name, self.per_class[name], None, support[i], [])
                for i, name in enumerate(CLASS_NAMES)]
        return out


def _recall(x: float) -> float | None:
    return None if math.isnan(x) else x


def evaluate(checkpoint_path: str | Path, samples: Sequence[Sample], *, device: str | torch.device | None = None,
             batch_size: int = 8, num_workers: int | None = None, cache_dir: Path | None = None) -> EvalResult:
    """`checkpoint_path` may also be "prior". Every sample needs a label."""
    unlabelled = [s.clip_id for s in samples if s.label is None]
    if unlabelled:
        raise ValueError(f"evaluate needs labelled clips; {len(unlabelled)} have none (first: {unlabelled[0]!r})")
    if not samples:
        raise ValueError("evaluate needs at least one clip")
    dev = resolve_device(device)
    loaded = load_model(checkpoint_path, dev)
    probs = predict_probs(loaded, samples, device=dev, batch_size=batch_size, num_workers=num_workers,
                          cache=FrameCache(cache_dir) if cache_dir else None)
    y_true = [s.label for s in samples]
    y_pred = probs.argmax(axis=1).tolist()
    overall = scores(y_true, y_pred, NUM_CLASSES)
    rec = recalls(np.asarray(overall.confusion))
    return EvalResult(
        model_name=loaded.name,
        n=overall.n,
        war=overall.war,
        uar=overall.uar,
        confusion=overall.confusion,
        per_class={name: _recall(float(r)) for name, r in zip(CLASS_NAMES, rec)},
        per_scenario=scores_by([s.scenario for s in samples], y_true, y_pred, NUM_CLASSES),
        per_scene=scores_by([s.scene for s in samples], y_true, y_pred, NUM_CLASSES),
        predictions=predictions_from_probs(samples, probs, loaded.name),
    )
