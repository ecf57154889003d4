"""Shared fixtures.

`db_url` runs a test once on SQLite and once on the local PostgreSQL server; each run gets a
database of its own at the newest schema, dropped afterwards. The migration runs once per
session per backend, into a template that each test gets a copy of (a file copy on SQLite,
CREATE DATABASE … TEMPLATE on PostgreSQL, see tests.support.PgDatabases); `empty_db_url` is
an empty database for the tests that migrate themselves. Under CI=true the PostgreSQL cases
fail instead of skipping when the server does not answer.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from storage import migrate
from storage.db import Database
from tests.support import DemoDatabases, PgDatabases, create_pg_database, require_pg

# One NLU model cache for the session, the in-process NLU.load() calls and every `xiangzhu
# serve`/`bench` subprocess alike: those run in a test's tmp directory, where the default
# ./data/nlu-cache is empty, and each would train the model again (20–50 s here). The cache is
# keyed by the training data and the code, so a shared one gives the same model.
os.environ.setdefault("XIANGZHU_NLU_CACHE_DIR", str(Path(__file__).resolve().parents[1] / "data" / "nlu-cache"))


@pytest.fixture(scope="session")
def pg_databases():
    databases = PgDatabases()
    yield databases
    databases.close()


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory, migrated_sqlite) -> DemoDatabases:
    return DemoDatabases(tmp_path_factory.mktemp("demo"), migrated_sqlite)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    """A SQLite file at the newest schema; tests get a copy instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def migrated_pg_template(pg_databases) -> str:
    """The name of a PostgreSQL database at the newest schema, to copy (built on first use)."""
    require_pg()
    return pg_databases.template(migrate.upgrade)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_db_url(request, tmp_path, pg_databases):
    """A database URL with nothing in it (not migrated). Parametrize it indirectly
    (`["postgres"]`) to run a test on one backend only; that holds for `db_url` too.

    When the test uses `db_url`, this is the same database, already at the newest schema:
    a copy of the migrated template (as before, when `db_url` migrated this database)."""
    migrated = "db_url" in request.fixturenames
    if request.param == "sqlite":
        path = tmp_path / "xz.db"
        if migrated:
            shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    require_pg()
    if migrated:
        url = pg_databases.copy(request.getfixturevalue("migrated_pg_template"))
    else:
        url = create_pg_database()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def db_url(empty_db_url):
    """A database URL at the newest schema, this test's alone."""
    return empty_db_url


@pytest.fixture
async def db(db_url):
    database = Database(db_url)
    yield database
    await database.dispose()
