"""Shared fixtures.

`db_url` runs a test once on SQLite and once on the local PostgreSQL server; each run gets a
database of its own, migrated to head, and dropped afterwards. Under CI=true the PostgreSQL
cases fail instead of skipping when the server does not answer.
"""
from __future__ import annotations

import pytest

from storage import migrate
from storage.db import Database
from tests.support import create_pg_database, drop_pg_database

@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request, tmp_path):
    """A database URL with nothing in it (not migrated)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/xz.db"
    else:
        url = create_pg_database()
        yield url
        drop_pg_database(url)


@pytest.fixture
def db_url(empty_db_url):
    """A database URL migrated to the newest schema."""
    migrate.upgrade(empty_db_url)
    return empty_db_url


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    yield database
    await database.dispose()
