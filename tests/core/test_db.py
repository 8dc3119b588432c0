"""Engines: pooled PostgreSQL connections survive the server dropping them."""
import pytest
import sqlalchemy as sa

from app.core import db


def test_a_connection_dropped_while_idle_is_replaced(settings, monkeypatch):
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite has no server to drop connections")
    engine = db.make_engine(settings.database_url)
    try:
        with engine.connect() as c:
            pid = c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        other = db.make_engine(settings.database_url)
        with other.begin() as admin:
            admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.dispose()
        monkeypatch.setattr(db, "PING_AFTER_IDLE_S", 0.0)
        with engine.connect() as c:  # the same pooled connection, now dead: pinged and replaced
            assert c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        engine.dispose()
