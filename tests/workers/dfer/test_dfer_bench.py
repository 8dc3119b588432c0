"""The GPU benchmark runs anywhere in smoke mode (the lead runs it for real on a GPU)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow  # ~10 s: it builds, trains and pre-ranks three times
def test_gpu_benchmark_smoke_prints_its_table():
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "dfer_gpu.py"), "--smoke", "--models", "resnet18"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "| model | train bare | train end to end |" in out.stdout
    assert "| resnet18 |" in out.stdout
