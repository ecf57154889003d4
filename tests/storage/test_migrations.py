import sqlalchemy as sa
from sqlalchemy import create_engine

from storage import migrate
from storage.db import sync_url
from storage.models import Base


def _tables(url):
    engine = create_engine(sync_url(url))
    try:
        return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_downgrade_removes_them(empty_db_url):
    migrate.upgrade(empty_db_url)
    assert _tables(empty_db_url) == set(Base.metadata.tables)
    assert migrate.current_revision(empty_db_url) == migrate.head_revision()
    migrate.downgrade(empty_db_url, "base")
    assert _tables(empty_db_url) == set()
    migrate.upgrade(empty_db_url)
    assert migrate.current_revision(empty_db_url) == migrate.head_revision()


def test_models_and_migrations_agree(db_url):
    """A model change without a migration is caught here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(sync_url(db_url))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
