"""The production stack: docker-compose.yml as Compose reads it (needs no
Docker daemon; skipped where neither `docker compose` nor `docker-compose` is
installed)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> list[str]:
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.skip("neither `docker compose` nor `docker-compose` is installed")


def _config(env: dict, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([*_compose(), "config", *extra], cwd=ROOT, capture_output=True, text=True,
                          env={k: v for k, v in {**os.environ, **env}.items() if v is not None})


def test_the_stack_has_its_services_and_shares_media():
    out = _config({"FERVLAB_SECRET_KEY": "a-real-secret"}, "--services")
    assert out.returncode == 0, out.stderr
    assert set(out.stdout.split()) == {"api", "worker-cpu", "worker-gpu", "postgres", "redis"}
    yaml = pytest.importorskip("yaml")  # uvicorn[standard] brings PyYAML
    services = yaml.safe_load(_config({"FERVLAB_SECRET_KEY": "a-real-secret"}).stdout)["services"]
    for name in ("api", "worker-cpu", "worker-gpu"):  # one database, one broker, one media folder for all three
        env = services[name]["environment"]
        assert env["FERVLAB_ENV"] == "prod" and env["FERVLAB_SECRET_KEY"] == "a-real-secret"
        assert env["FERVLAB_DATABASE_URL"].startswith("postgresql://") and env["FERVLAB_BROKER_URL"].startswith("redis://")
        mounts = [str(v.get("target") if isinstance(v, dict) else v.split(":")[1]) for v in services[name]["volumes"]]
        assert env["FERVLAB_MEDIA_ROOT"] in mounts, (name, mounts)


def test_the_stack_refuses_to_start_without_a_secret():
    out = _config({"FERVLAB_SECRET_KEY": None})
    assert out.returncode != 0 and "FERVLAB_SECRET_KEY" in out.stderr
