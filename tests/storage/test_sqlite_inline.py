"""storage/sqlite_inline.py: every SQLite URL is served by the inline dialect, and the
SQLAlchemy internals it relies on are still there (pyproject pins the minor version)."""
import inspect

import pytest
import sqlalchemy
from sqlalchemy import text
from sqlalchemy.ext.asyncio import result as async_result
from sqlalchemy.util import concurrency

from storage import sqlite_inline
from storage.db import Database, async_url


@pytest.mark.parametrize("scheme", ["sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"])
async def test_every_sqlite_url_gets_the_inline_dialect(tmp_path, scheme):
    url = f"{scheme}:///{tmp_path}/x.db"
    assert async_url(url).startswith(f"sqlite+{sqlite_inline.DRIVER}:///")
    db = Database(url)
    try:
        assert db.engine.dialect.driver == sqlite_inline.DRIVER
        async with db.session() as s:
            assert (await s.execute(text("SELECT 1"))).scalar_one() == 1
            raw = (await s.connection()).sync_connection.connection.driver_connection
            assert isinstance(raw, sqlite_inline.InlineConnection)
    finally:
        await db.dispose()


def test_the_sqlalchemy_internals_it_relies_on_are_still_there():
    assert sqlalchemy.__version__.startswith("2.1."), "storage/sqlite_inline.py was checked against SQLAlchemy 2.1"
    # AsyncResult closes the DBAPI cursor through this coroutine; InlineCursor provides it
    assert "cursor._async_soft_close()" in inspect.getsource(async_result)
    assert inspect.iscoroutinefunction(sqlite_inline.InlineCursor._async_soft_close)
    # await_ suspends the calling greenlet on the loop (BEGIN IMMEDIATE's retry sleep)
    assert concurrency.await_ is sqlite_inline.await_
