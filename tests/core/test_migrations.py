from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.core.db import get_engine
from app.models import metadata


def test_models_and_migrations_do_not_differ():
    # The test database was built by `alembic upgrade head` (conftest).
    with get_engine().connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
    assert diff == [], f"models differ from migrations: {diff}"
