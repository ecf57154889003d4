"""Engines and sessions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode behind a single connection: one writer, and every transaction
starts with BEGIN IMMEDIATE so read-modify-write sequences never interleave. Its calls run on
the event-loop thread (storage/sqlite_inline.py explains why and how a writer waits for the
lock without blocking the loop). PostgreSQL gets an ordinary pool whose idle connections are
pinged before use.
"""
from __future__ import annotations

import asyncio
import time
from contextlib import asynccontextmanager
from pathlib import Path
from types import MappingProxyType
from typing import AsyncIterator

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from storage import sqlite_inline


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# SQLSTATE classes that mean "the database is not there for us", not "this statement is wrong":
# 08 connection exception, 28 authorization, 53 insufficient resources, 57 operator
# intervention (shutdown, cannot connect now), 58 system error, 3D000 no such database
_UNAVAILABLE_SQLSTATES = ("08", "28", "53", "57", "58", "3D000")


def is_db_unavailable(exc: BaseException) -> bool:
    """True when `exc` says the database cannot be reached (answer 503, retry later) rather
    than that our statement or data was wrong."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError, ConnectionError, OSError, asyncio.TimeoutError)):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state.startswith(_UNAVAILABLE_SQLSTATES):
        return True
    # 55000 "database … is not currently accepting connections" (ALLOW_CONNECTIONS false)
    return state == "55000" and "accepting connections" in str(exc.orig)


def _sqlstate(exc: DBAPIError) -> str:
    return str(getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or "")


def is_deadlock(exc: BaseException) -> bool:
    """True when PostgreSQL broke a deadlock by rolling this transaction back (40P01): nothing
    of it stands, and running it again is safe."""
    return isinstance(exc, DBAPIError) and _sqlstate(exc) == "40P01"


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic, APScheduler): psycopg / pysqlite."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite").render_as_string(hide_password=False)
    return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The driver that serves a URL, whatever driver it names: every SQLite URL (`sqlite://`,
    `sqlite+aiosqlite://`, `sqlite+pysqlite://`) gets the standard `sqlite3` module on the
    event-loop thread (storage/sqlite_inline.py), every PostgreSQL URL asyncpg."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername=f"sqlite+{sqlite_inline.DRIVER}").render_as_string(hide_password=False)
    return u.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def _ensure_sqlite_dir(url: str) -> None:
    db = make_url(url).database
    if db and db != ":memory:":
        Path(db).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=0")  # BEGIN IMMEDIATE waits on the loop instead
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    url = async_url(url)
    if is_sqlite(url):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(
            url,
            echo=echo,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=1,
            max_overflow=0,
            pool_timeout=60,
            # the pool hands the one connection to one task at a time, on the loop thread
            connect_args={"isolation_level": None, "timeout": 0, "check_same_thread": False},
        )
        sync = engine.sync_engine
        event.listen(sync, "connect", _sqlite_pragmas)

        @event.listens_for(sync, "begin")
        def _begin_immediate(conn):  # one writer: no lost read-modify-write
            sqlite_inline.begin_immediate(conn.connection.driver_connection)

        return engine
    # At most 2 × pool_size connections, as before, but all of them kept: an overflow
    # connection was closed on return whenever the pool held pool_size idle ones, so every
    # burst of concurrent turns paid new connections (TLS attempt, login, asyncpg's codecs,
    # every statement prepared again) just when the server was behind (docs/performance.md).
    engine = create_async_engine(url, echo=echo, pool_size=2 * pool_size, max_overflow=0, pool_timeout=10)
    _ping_idle_connections(engine.sync_engine.pool)
    return engine


# A connection that sat in the pool longer than this is pinged before use. SQLAlchemy's
# `pool_pre_ping` pings on every checkout, which with asyncpg is three round trips (BEGIN, ";",
# ROLLBACK) before each transaction; under load a connection comes back to the pool and leaves
# again within milliseconds, and a connection that dies in use is invalidated when it fails.
IDLE_PING_SECONDS = 2.0


def _ping_idle_connections(pool_) -> None:
    """SQLAlchemy's "pessimistic disconnect handling" recipe, only for idle connections: a
    failed ping raises DisconnectionError, and the pool replaces the connection."""

    @event.listens_for(pool_, "checkin")
    def _checkin(dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool_, "checkout")
    def _checkout(dbapi_connection, record, proxy):
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc


class Database:
    """An engine with its session factory; `async with db.session() as s:` is one transaction."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False):
        self.url = url
        self.engine = make_engine(url, pool_size=pool_size, echo=echo)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error.

        What `async with sessions() as s, s.begin():` does, in one greenlet switch instead of
        three and without its closing task on success: beginning takes no connection (the
        first statement does), and once committed the session holds none, so neither needs
        to wait for the database. On error the session is closed (rolled back) by
        `AsyncSession`'s own exit, to completion even when this task is cancelled."""
        s = self.sessions()
        s.sync_session.begin()
        committed = False
        try:
            yield s
            await s.commit()
            committed = not s.sync_session.in_transaction()
        finally:
            if committed:
                s.sync_session.close()  # no connection held: nothing to wait for
            else:
                async with s:  # its exit closes it: rolls back and returns the connection
                    pass

    def turn(self) -> "TurnSession":
        """`async with db.turn() as s:` — one transaction, like `session()`, on a pooled
        connection with the driver alone until something asks for the ORM (TurnSession)."""
        return TurnSession(self)

    async def dispose(self) -> None:
        await self.engine.dispose()


class TurnSession:
    """A turn's transaction that makes its `AsyncSession` only when the turn asks for one.

    Most turns read and write only through the driver (storage/driver.py: `begin_turn`,
    `finish_turn`, the flows' own driver statements): for them the `AsyncSession` made,
    begun, committed and closed was pure overhead (docs/performance.md, session17). Here
    `driver.run` runs on a pooled connection (`AsyncConnection`, its transaction begun by
    the first statement, so BEGIN IMMEDIATE on SQLite as before), and `info`, `bind` (the
    engine, as a session's) and `identity_map` (empty until there is a session) are
    answered without one. Any other attribute makes the `AsyncSession` — bound to that
    connection, joining its transaction (`join_transaction_mode="rollback_only"`: its
    commit flushes, the connection's commit is ours) — and is answered by it. The end
    commits (the session's flush first) and returns the connection in one greenlet switch;
    an error rolls back and returns it, to completion even when the task is cancelled."""

    __slots__ = ("bind", "_connection", "_info", "_orm")

    def __init__(self, db: Database):
        self.bind = db.engine
        self._connection = db.engine.connect()  # not started: no connection taken yet
        self._info: dict = {}
        self._orm: AsyncSession | None = None

    @property
    def info(self) -> dict:
        return self._info if self._orm is None else self._orm.info

    @property
    def identity_map(self):
        return _NO_OBJECTS if self._orm is None else self._orm.identity_map

    def driver_connection(self):
        """The connection for `driver.run` while no session is made, else None."""
        return self._connection if self._orm is None else None

    async def run_on_connection(self, fn, *args):
        """`fn(sync connection, *args)` on the turn's connection (taken on first use), while
        no session is made (`driver_connection()`)."""
        connection = self._connection
        if connection.sync_connection is None:
            await connection.start()
        return await connection.run_sync(fn, *args)

    @property
    def orm(self) -> AsyncSession:
        orm = self._orm
        if orm is None:
            connection = self._connection.sync_connection
            if connection is None or not connection.in_transaction():
                raise RuntimeError("a turn's session is made after its first statement (begin_turn)")
            orm = self._orm = AsyncSession(bind=self._connection, expire_on_commit=False, info=self._info,
                                           join_transaction_mode="rollback_only")
        return orm

    def __getattr__(self, name: str):
        return getattr(self.orm, name)

    async def __aenter__(self) -> "TurnSession":
        return self

    async def __aexit__(self, type_, value, traceback) -> None:
        connection = self._connection
        if connection.sync_connection is None:
            return
        if type_ is None:
            try:
                await connection.run_sync(_commit_turn, None if self._orm is None else self._orm.sync_session)
                return
            except BaseException as exc:  # the commit failed, or the task was cancelled meanwhile
                await self._abandon(type(exc), exc, exc.__traceback__)
                raise
        await self._abandon(type_, value, traceback)

    async def _abandon(self, type_, value, traceback) -> None:
        if self._orm is not None:
            self._orm.sync_session.close()  # forgets its objects; the connection's rollback is below
        await self._connection.__aexit__(type_, value, traceback)  # closed to completion: rolled back, returned


_NO_OBJECTS = MappingProxyType({})  # the identity map of a turn without a session


def _commit_turn(connection, orm_session) -> None:
    if orm_session is not None:
        orm_session.commit()  # flushes; the transaction is the connection's (rollback_only)
        orm_session.close()
    if connection.in_transaction():
        connection.commit()
    connection.close()
