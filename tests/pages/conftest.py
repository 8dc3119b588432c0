"""The page tests use the consensus tests' people, campaigns and votes."""
from tests.consensus_db.conftest import crowd, make_campaign  # noqa: F401
