import os
import subprocess
import sys

import pytest

from app.core.config import DEV_SECRET, Settings


def _run_init(env_extra: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "app.cli", "init"], env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name,value", [("FERVLAB_MAX_UPLOAD_MB", "lots"), ("FERVLAB_DATABASE_URL", "mysql://x/y"),
                                        ("FERVLAB_BROKER_URL", "http://nope"), ("FERVLAB_ENV", "staging")])
def test_bad_setting_stops_startup_with_one_line_naming_it(name, value):
    out = _run_init({name: value})
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and name in lines[0]


def test_default_secret_is_refused_outside_dev():
    out = _run_init({"FERVLAB_ENV": "prod", "FERVLAB_SECRET_KEY": DEV_SECRET})
    assert out.returncode == 2
    assert "FERVLAB_SECRET_KEY" in out.stderr


def test_embedded_defaults_need_no_server(tmp_path, monkeypatch):
    for k in ("FERVLAB_DATABASE_URL", "FERVLAB_BROKER_URL", "FERVLAB_MEDIA_ROOT"):
        monkeypatch.delenv(k, raising=False)
    s = Settings(var_dir=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'fervlab.db'}"
    assert s.broker_url.startswith("sqla+sqlite:///") and s.broker_is_embedded
    assert s.media_root == (tmp_path / "media").resolve()


def test_postgres_url_uses_psycopg3_driver(monkeypatch):
    monkeypatch.setenv("FERVLAB_DATABASE_URL", "postgresql://u@h:5432/db")
    assert Settings().database_url == "postgresql+psycopg://u@h:5432/db"
