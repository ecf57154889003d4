"""SQLite for the async engine, run on the event-loop thread.

Why: aiosqlite runs every call (cursor, execute, fetch, close) on its own thread and hands
the result back to the loop — about 0.25 ms per statement of thread hand-offs, while the
statement itself takes microseconds. A turn is a dozen statements inside one write
transaction, and SQLite has one writer, so those hand-offs were the pipeline's throughput
limit. Calling the standard `sqlite3` module directly from the loop removes them.

What keeps the loop from blocking: every transaction starts with BEGIN IMMEDIATE (storage/
db.py), which is the only statement that waits for another connection (WAL: readers never
wait, and the writer that holds the lock never waits again). The connection's busy timeout
is 0, so a BEGIN that finds the write lock taken fails at once; `begin_immediate` then sleeps
on the loop (other tasks — possibly the lock holder — run meanwhile) and tries again, until
`BUSY_TIMEOUT` seconds have passed.

The dialect is registered as `sqlite+xiangzhu_inline`; `storage.db.make_engine` uses it for
every SQLite URL, including `sqlite+aiosqlite://` (aiosqlite is not a dependency).

It relies on two SQLAlchemy internals: the async result calls `_async_soft_close()` on the
cursor, and `sqlalchemy.util.await_` suspends the greenlet on the loop. pyproject pins
SQLAlchemy to its minor version; tests/storage/test_sqlite_inline.py fails when either moves.
"""
from __future__ import annotations

import asyncio
import sqlite3
import time

from sqlalchemy import pool
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.util import await_

__all__ = ["BUSY_TIMEOUT", "DRIVER", "InlineConnection", "SQLiteInlineDialect", "begin_immediate"]

DRIVER = "xiangzhu_inline"
BUSY_TIMEOUT = 10.0  # seconds a writer waits for another connection's write lock
_RETRY_SLEEP = 0.002


class InlineCursor(sqlite3.Cursor):
    async def _async_soft_close(self) -> None:
        """AsyncSession calls this on every result; rows are already buffered here."""


class InlineConnection(sqlite3.Connection):
    """`sqlite3.connect(..., factory=InlineConnection)`: cursors the async layer accepts."""

    def cursor(self, factory=InlineCursor):
        return super().cursor(factory)


class SQLiteInlineDialect(SQLiteDialect_pysqlite):
    """pysqlite, declared async: AsyncEngine runs its (never waiting) calls in its greenlet
    on the loop thread instead of through an async driver."""

    driver = DRIVER
    is_async = True
    supports_statement_cache = True

    def create_connect_args(self, url):
        args, kwargs = super().create_connect_args(url)
        kwargs.setdefault("factory", InlineConnection)
        return args, kwargs

    @classmethod
    def get_pool_class(cls, url):
        return pool.AsyncAdaptedQueuePool if cls._is_url_file_db(url) else pool.StaticPool


def begin_immediate(dbapi_conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE without blocking the loop while another connection writes. Runs
    inside AsyncEngine's greenlet (a "begin" event), where `await_` may yield to the loop."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            dbapi_conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
        await_(asyncio.sleep(_RETRY_SLEEP))


registry.register(f"sqlite.{DRIVER}", __name__, "SQLiteInlineDialect")
