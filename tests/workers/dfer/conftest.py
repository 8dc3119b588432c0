"""Tiny synthetic FERV39k-shaped data for the DFER tests (no ../shared needed)."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.factories.dfer_samples import samples_from_tree
from tests.factories.ferv39k_tree import make_ferv39k_tree, synthetic_index
from workers.dfer.data import Sample

torch.set_num_threads(1)  # tiny inputs: more threads only contend on a shared machine


@pytest.fixture(scope="session")
def tiny_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 scenes × 7 expressions × 2 clips of 8 frames, 64×64 JPEGs."""
    root = tmp_path_factory.mktemp("ferv39k")
    make_ferv39k_tree(root, clips=synthetic_index(per_class=2, frames=8, test_every=2), limit=None, size=64)
    return root


@pytest.fixture(scope="session")
def tiny_samples(tiny_tree: Path) -> list[Sample]:
    return samples_from_tree(tiny_tree)
