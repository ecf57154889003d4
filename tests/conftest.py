"""Shared fixtures.

`db_url` runs a test once on SQLite and once on the local PostgreSQL server; each run gets a
database of its own, migrated to head, and dropped afterwards. Under CI=true the PostgreSQL
cases fail instead of skipping when the server does not answer.
"""
from __future__ import annotations

import os
import uuid

import psycopg
import pytest

from storage import migrate
from storage.db import Database

PG_ADMIN_DSN = os.environ.get("XIANGZHU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def create_pg_database() -> str:
    """A fresh PostgreSQL database; returns its async URL."""
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN_DSN} (run `make postgres`)")
        pytest.skip("PostgreSQL not available")
    name = f"xz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
