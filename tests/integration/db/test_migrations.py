"""The Alembic migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from autoinvoice.adapters.db.engine import make_engine
from autoinvoice.adapters.db.migrate import current_revision, head_revision, upgrade
from autoinvoice.adapters.db.tables import metadata


def test_migrated_database_matches_the_declared_tables(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": False}), metadata
        )
    engine.dispose()
    assert diff == []


def test_migrating_twice_is_harmless_and_lands_on_head(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    engine.dispose()
