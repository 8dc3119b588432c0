"""Shared test data for the consensus engine: a tiny hand-made crowd and a
generator of small synthetic ones (no files, no database)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.consensus.aggregators import Votes

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"

# 6 clips, 4 annotators, labels a/b/c. w1 and w2 are careful, w3 is noisy and
# w4 always answers "a" (a spammer that majority vote believes).
TINY_ROWS = [
    ("i1", "w1", "a"), ("i1", "w2", "a"), ("i1", "w3", "a"), ("i1", "w4", "a"),
    ("i2", "w1", "b"), ("i2", "w2", "b"), ("i2", "w3", "c"), ("i2", "w4", "a"),
    ("i3", "w1", "c"), ("i3", "w2", "c"), ("i3", "w3", "c"), ("i3", "w4", "a"),
    ("i4", "w1", "b"), ("i4", "w2", "a"), ("i4", "w4", "a"),
    ("i5", "w2", "c"), ("i5", "w3", "b"),
    ("i6", "w1", "a"), ("i6", "w3", "b"), ("i6", "w4", "a"),
]


@pytest.fixture
def tiny_rows() -> list[tuple[str, str, str]]:
    return list(TINY_ROWS)


@pytest.fixture
def tiny() -> Votes:
    return Votes.from_rows(TINY_ROWS)


@pytest.fixture
def shared_crowd() -> Path:
    """../shared/crowd, or skip when the shared fixtures are absent."""
    path = SHARED / "crowd"
    if not path.is_dir():
        pytest.skip("../shared/crowd is absent")
    return path


@pytest.fixture
def make_crowd():
    return _synthetic_crowd


def _synthetic_crowd(n_items: int = 2000, n_workers: int = 20, overlap: int = 5,
                    n_labels: int = 7, seed: int = 0):
    """(Votes, truth codes): careful, sloppy and spamming workers, class-dependent errors."""
    rng = np.random.default_rng(seed)
    truth = rng.choice(n_labels, n_items, p=np.linspace(2, 1, n_labels) / np.linspace(2, 1, n_labels).sum())
    confusions = np.empty((n_workers, n_labels, n_labels))
    for w in range(n_workers):
        if w < n_workers // 5:  # spammers: one favourite label
            confusions[w] = 0.1 / (n_labels - 1)
            confusions[w, :, w % n_labels] = 0.9
            confusions[w] /= confusions[w].sum(axis=1, keepdims=True)
            continue
        acc = rng.uniform(0.55, 0.9)
        noise = rng.dirichlet(np.ones(n_labels), n_labels) * (1 - acc)
        np.fill_diagonal(noise, 0)
        noise *= (1 - acc) / noise.sum(axis=1, keepdims=True)
        confusions[w] = noise + acc * np.eye(n_labels)
    workers = np.argsort(rng.random((n_items, n_workers)), axis=1)[:, :overlap].reshape(-1)
    items = np.repeat(np.arange(n_items), overlap)
    cumulative = confusions[workers, truth[items]].cumsum(axis=1)
    labels = np.minimum((rng.random(items.size)[:, None] > cumulative).sum(axis=1), n_labels - 1)
    votes = Votes(items, workers, labels, tuple(f"c{i}" for i in range(n_items)),
                  tuple(f"a{w}" for w in range(n_workers)), tuple(f"L{k}" for k in range(n_labels)))
    return votes, truth
