"""Test set-up: a fresh database per run (SQLite file by default, a new
PostgreSQL database when FERVLAB_DATABASE_URL points at one), emptied after
every test; the broker from FERVLAB_BROKER_URL (embedded SQLite by default)."""
from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

_TMP = Path(tempfile.mkdtemp(prefix="fervlab-test-"))
os.environ["FERVLAB_ENV"] = "test"
os.environ["FERVLAB_VAR_DIR"] = str(_TMP)
os.environ["FERVLAB_MEDIA_ROOT"] = str(_TMP / "media")
_PG_ADMIN_URL = None
_url = os.environ.get("FERVLAB_DATABASE_URL", "")
if _url.startswith("postgresql"):
    # One throw-away database per run so parallel runs never collide.
    base, _, _db = _url.rpartition("/")
    name = f"fervlab_test_{uuid.uuid4().hex[:8]}"
    _PG_ADMIN_URL = base + "/postgres"
    import psycopg

    with psycopg.connect(_PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    os.environ["FERVLAB_DATABASE_URL"] = f"{base}/{name}"
    _PG_TEST_DB = name

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.core.config import get_settings  # noqa: E402
from app.core.db import get_engine  # noqa: E402


def pytest_sessionstart(session):
    from app.core.migrate import upgrade_head

    upgrade_head()
    _reseed()


def pytest_sessionfinish(session, exitstatus):
    get_engine().dispose()
    if _PG_ADMIN_URL:
        import psycopg

        with psycopg.connect(_PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{_PG_TEST_DB}" WITH (FORCE)')


def _reseed() -> None:
    from app.taxonomy.service import seed_defaults

    with Session(get_engine()) as s:
        seed_defaults(s)
        s.commit()


def _wipe() -> None:
    from app.models import metadata

    engine = get_engine()
    tables = [t.name for t in reversed(metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture(autouse=True)
def _clean_db():
    from app.core import auth_cache
    from app.datasets import live

    yield
    _wipe()
    # Ids start again after the wipe: a remembered user id would name another person,
    # kept dataset figures another instance.
    auth_cache.clear()
    live.clear()
    _reseed()


@pytest.fixture
def settings():
    return get_settings()


@pytest.fixture(scope="session")
def _test_engine():
    from app.core.db import make_engine

    # Deferred BEGIN for the test's own session: its reads must not hold the
    # write lock while the app under test writes.
    engine = make_engine(get_settings().database_url, immediate=False)
    yield engine
    engine.dispose()


@pytest.fixture
def session(_test_engine):
    with Session(_test_engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def app():
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as c:
        yield c


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip("../shared is absent")
    return SHARED


@pytest.fixture
def worker_process():
    """A real Celery worker process on both queues, against the configured broker."""
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app:celery_app", "worker", "-Q", "cpu,gpu",
         "-c", "1", "-P", "solo", "--loglevel", "WARNING", "-n", f"test-{uuid.uuid4().hex[:6]}@%h"],
        env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


# One person of each role, and their bearer headers: tests/*/ use these.

@pytest.fixture
def admin(session):
    return _person(session, "admin")


@pytest.fixture
def admin_h(session, admin):
    return _headers(session, admin)


@pytest.fixture
def reviewer(session):
    return _person(session, "reviewer")


@pytest.fixture
def reviewer_h(session, reviewer):
    return _headers(session, reviewer)


@pytest.fixture
def ann(session):
    return _person(session, "annotator")


@pytest.fixture
def ann_h(session, ann):
    return _headers(session, ann)


def _person(session, role: str):
    from app.users.models import Role
    from tests.factories.users import make_user

    return make_user(session, Role(role))


def _headers(session, user):
    from tests.factories.users import bearer

    return bearer(session, user)
