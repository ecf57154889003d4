"""The few statements every turn runs, on the driver's cursor inside the session's transaction.

Why: a turn is half a dozen small statements (find the sender, store the message, the current
flow ids, store the replies and the outbox rows, write the conversation back). Through
SQLAlchemy each costs 40–200 µs of CPU in its execution machinery (session, compiled cache,
execution context, result objects) against 2 µs for the statement itself on SQLite and about
60 µs for an asyncpg round trip — measured in docs/performance.md. On a two-core machine that
overhead alone capped the pipeline near 250 messages per second.

How: each statement is SQL text built once from the models' tables, with `?` placeholders
(PostgreSQL gets `$1, $2, …`), executed with the DBAPI cursor of the session's own connection
in one `AsyncSession.run_sync` call per batch: the same transaction and connection as the ORM
work of the turn, one greenlet switch for several statements. On SQLite that cursor is
sqlite3's, on the event-loop thread (storage/sqlite_inline.py); on PostgreSQL it is
SQLAlchemy's asyncpg adapter, which waits inside the greenlet. Values are converted the way
the models' column types store them (UTC datetimes — text on SQLite —, JSON as text,
booleans), so the ORM reads these rows like its own. Driver errors are raised as SQLAlchemy's
exceptions, and a lost connection is invalidated, as SQLAlchemy would.

Everything off the hot path keeps using the ORM and Core.
"""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Sequence

from sqlalchemy import JSON, Boolean, Date, Table
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import UTCDateTime

__all__ = ["Columns", "Cursor", "Insert", "Scalar", "Sql", "UpdateById", "read_json", "run"]


# ── values as each database stores them ─────────────────────────────────────────────────


_last_when: tuple = (None, None)  # a turn writes the same `now` many times


def _sqlite_when(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DATETIME storage format, in UTC: 2026-12-02 01:23:53.762388."""
    global _last_when
    if value is None:
        return None
    last = _last_when
    if value is last[0]:
        return last[1]
    utc = value.astimezone(timezone.utc) if value.tzinfo is not None else value
    text = utc.replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_when = (value, text)
    return text


def _pg_when(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=timezone.utc)


def _read_when(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _to_json(value: Any) -> str:
    return json.dumps(value)


def _read_json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _read_bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _sqlite_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _read_date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else value


def _kind(column) -> str:
    t = column.type
    if isinstance(t, UTCDateTime):
        return "when"
    if isinstance(t, JSON):
        return "json"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, Date):
        return "date"
    return ""


_WRITERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "sqlite": {"when": _sqlite_when, "json": _to_json, "date": _sqlite_date},
    "postgresql": {"when": _pg_when, "json": _to_json},
}
_READERS: dict[str, Callable[[Any], Any]] = {"when": _read_when, "json": _read_json, "bool": _read_bool,
                                             "date": _read_date}


# ── statements ───────────────────────────────────────────────────────────────────────────


class Sql:
    """SQL text with `?` placeholders; `text(dialect)` gives PostgreSQL's numbered form."""

    __slots__ = ("qmark", "numbered")

    def __init__(self, text: str):
        self.qmark = text
        count = iter(range(1, 10_000))
        self.numbered = re.sub(r"\?", lambda _m: f"${next(count)}", text)

    def text(self, dialect: str) -> str:
        return self.numbered if dialect == "postgresql" else self.qmark


class Scalar:
    """A scalar subquery read along with another statement's row (`people.load_for_turn`
    takes some): its SQL text — per dialect where they differ — and how to read its value."""

    __slots__ = ("_default", "_by_dialect", "read")

    def __init__(self, sql: str, read: Callable[[Any], Any] = lambda v: v, **by_dialect: str):
        self._default, self._by_dialect, self.read = sql, by_dialect, read

    def text(self, dialect: str) -> str:
        return self._by_dialect.get(dialect, self._default)


def read_json(value: Any) -> Any:
    """A JSON value as the driver returns it (text on SQLite, decoded on PostgreSQL)."""
    return _read_json(value)


class Columns:
    """Some columns of a model table as a select list (`sql`), and `read(row, start)` to turn
    the driver's values back into what the ORM would have given (a dict by column name)."""

    def __init__(self, table: Table, alias: str, names: Sequence[str] | None = None):
        cols = [table.c[n] for n in names] if names is not None else list(table.columns)
        self.names = tuple(c.name for c in cols)
        self.sql = ", ".join(f'{alias}."{c.name}"' for c in cols)
        self._readers = tuple(_READERS.get(_kind(c)) for c in cols)

    def __len__(self) -> int:
        return len(self.names)

    def read(self, row: Sequence[Any], start: int = 0) -> dict[str, Any]:
        values = row[start:start + len(self.names)]
        return {name: (reader(v) if reader is not None else v)
                for name, reader, v in zip(self.names, self._readers, values)}


class Insert:
    """INSERT of whole rows into a model table: every column the table has (but `id`) gets
    the row's value or the column's Python default, converted by its type. One statement for
    several rows; `on_conflict` names the unique columns for ON CONFLICT DO NOTHING;
    `returning` a column to return."""

    def __init__(self, table: Table, *, on_conflict: Sequence[str] = (), returning: str = ""):
        self.table = table
        self.columns = [c for c in table.columns if not (c.primary_key and c.autoincrement)]
        self._kinds = [_kind(c) for c in self.columns]
        self._defaults = [self._default(c) for c in self.columns]
        self.returns = bool(returning)
        self._tail = ""
        if on_conflict:
            self._tail += f" ON CONFLICT ({', '.join(on_conflict)}) DO NOTHING"
        if returning:
            self._tail += f" RETURNING {returning}"
        self._sql: dict[int, Sql] = {}

    @staticmethod
    def _default(column) -> Callable[[], Any]:
        d = column.default
        if d is None:
            return lambda: None
        if d.is_callable:
            return lambda: d.arg(None)  # SQLAlchemy wraps the callable to take a context
        return lambda: d.arg

    def sql(self, n: int) -> Sql:
        stmt = self._sql.get(n)
        if stmt is None:
            one = "(" + ", ".join("?" * len(self.columns)) + ")"
            names = ", ".join(f'"{c.name}"' for c in self.columns)
            stmt = self._sql[n] = Sql(f"INSERT INTO {self.table.name} ({names}) VALUES {', '.join([one] * n)}{self._tail}")
        return stmt

    def params(self, rows: Iterable[dict[str, Any]], writers: dict[str, Callable]) -> list:
        out = []
        for row in rows:
            for column, kind, default in zip(self.columns, self._kinds, self._defaults):
                value = row[column.name] if column.name in row else default()
                write = writers.get(kind)
                out.append(write(value) if write is not None and value is not None else value)
        return out


class UpdateById:
    """UPDATE of some columns of one row, by id."""

    def __init__(self, table: Table):
        self.table = table
        self._kinds = {c.name: _kind(c) for c in table.columns}
        self._sql: dict[tuple[str, ...], Sql] = {}

    def sql(self, names: tuple[str, ...]) -> Sql:
        stmt = self._sql.get(names)
        if stmt is None:
            sets = ", ".join(f'"{n}" = ?' for n in names)
            stmt = self._sql[names] = Sql(f"UPDATE {self.table.name} SET {sets} WHERE id = ?")
        return stmt

    def params(self, changes: dict[str, Any], row_id: int, writers: dict[str, Callable]) -> list:
        out = []
        for name, value in changes.items():
            write = writers.get(self._kinds[name])
            out.append(write(value) if write is not None and value is not None else value)
        out.append(row_id)
        return out


# ── running them ─────────────────────────────────────────────────────────────────────────

_joined_sql: dict[tuple[str, ...], Sql] = {}  # a few hundred at most: row counts × changed columns


def _joined(held: list[tuple[Sql, Sequence[Any]]]) -> tuple[Sql, list]:
    """Several statements as one: `WITH s1 AS (first), s2 AS (second) last` (PostgreSQL runs
    every part of a data-modifying WITH exactly once, on one snapshot)."""
    key = tuple(sql.qmark for sql, _ in held)
    joined = _joined_sql.get(key)
    if joined is None:
        parts = ", ".join(f"s{i} AS ({text})" for i, text in enumerate(key[:-1], 1))
        joined = _joined_sql[key] = Sql(f"WITH {parts} {key[-1]}")
    return joined, [value for _, params in held for value in params]


class Cursor:
    """The session's connection at the driver level, for the functions given to `run`."""

    def __init__(self, connection, dialect):
        self.dialect = dialect.name
        self._sa_connection = connection
        self._sa_dialect = dialect
        self._dbapi = connection.connection.dbapi_connection
        self._cursor = self._dbapi.cursor()
        self.writers = _WRITERS.get(self.dialect, _WRITERS["postgresql"])
        self._held: list[tuple[Sql, Sequence[Any]]] | None = None

    @contextmanager
    def together(self) -> Iterator[None]:
        """Statements in this block that return nothing run at its end — on PostgreSQL as one
        statement (a data-modifying WITH: one round trip for all, one snapshot, so statements
        held together must not touch the same rows), elsewhere one after the other."""
        self._held = []
        try:
            yield
            held = self._held
        finally:
            self._held = None
        if len(held) > 1 and self.dialect == "postgresql":
            self._execute(*_joined(held))
        else:
            for sql, params in held:
                self._execute(sql, params)

    def _execute(self, sql: Sql, params: Sequence[Any]) -> None:
        if self._held is not None:
            self._held.append((sql, params))
            return
        text = sql.text(self.dialect)
        try:
            self._cursor.execute(text, params)
        except self._sa_dialect.loaded_dbapi.Error as exc:
            disconnect = self._sa_dialect.is_disconnect(exc, self._dbapi, self._cursor)
            if disconnect:
                self._sa_connection.invalidate(exc)
            raise DBAPIError.instance(
                text, params, exc, self._sa_dialect.loaded_dbapi.Error,
                connection_invalidated=disconnect, dialect=self._sa_dialect,
            ) from exc

    def rows(self, sql: Sql, params: Sequence[Any] = ()) -> list:
        self._execute(sql, params)
        return list(self._cursor.fetchall())

    def one(self, sql: Sql, params: Sequence[Any] = ()):
        self._execute(sql, params)
        return self._cursor.fetchone()

    def execute(self, sql: Sql, params: Sequence[Any] = ()) -> int:
        self._execute(sql, params)
        return self._cursor.rowcount

    def insert(self, stmt: Insert, rows: list[dict[str, Any]]) -> list:
        """Insert the rows (nothing when there are none); the RETURNING rows, if any."""
        if not rows:
            return []
        if stmt.returns and self._held is not None:
            raise RuntimeError("an INSERT … RETURNING cannot wait for the end of a together() block")
        self._execute(stmt.sql(len(rows)), stmt.params(rows, self.writers))
        return list(self._cursor.fetchall()) if stmt.returns else []

    def update(self, stmt: UpdateById, row_id: int, changes: dict[str, Any]) -> None:
        if changes:
            names = tuple(changes)
            self._execute(stmt.sql(names), stmt.params(changes, row_id, self.writers))

    def close(self) -> None:
        self._cursor.close()


async def run(session: AsyncSession, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(cursor, *args)` on the session's connection, inside its transaction (begun here if
    it has not been); returns what `fn` returns. Pending ORM changes are flushed first, as
    before any ORM query (autoflush), so `fn` sees them."""

    def call(sync_session):
        if sync_session.autoflush:
            sync_session.flush()  # returns at once when nothing is pending
        connection = sync_session.connection()
        cursor = Cursor(connection, connection.dialect)
        try:
            return fn(cursor, *args)
        finally:
            cursor.close()

    return await session.run_sync(call)
