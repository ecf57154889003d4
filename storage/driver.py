"""The few statements every turn runs: SQLAlchemy Core statements compiled once per dialect,
run on the session's own connection inside its transaction.

Why: a turn is half a dozen small statements (find the sender, store the message, store the
replies and the outbox rows, write the conversation back). Executed as Core statements each
costs 40–200 µs of CPU in SQLAlchemy's per-execution machinery (cache key, execution
context, result objects) against 2 µs for the statement itself on SQLite and about 60 µs for
an asyncpg round trip — measured in docs/performance.md.

How: each statement is an ordinary Core construct (`select`, `insert`, `update`), compiled
once per dialect with `stmt.compile(dialect=…, column_keys=…)`. What the compiled statement
says is used as SQLAlchemy would use it: `Compiled.string` (quoting, placeholders, PostgreSQL's
bind casts), `Compiled.positiontup` (the order of the positional parameters), each bound
parameter's `bind_processor` and each result column's `result_processor` from the column
types' dialect implementation (so values are stored and read exactly as by the ORM), Python-
side `default` and `onupdate` of the columns a statement leaves out (SQLAlchemy makes them
parameters of the compiled statement), columns with only a `server_default` left to the
database. Per row the work is a list of values and the few processors that are not the
identity (precomputed per statement).

The statements run on the session's connection in one `AsyncSession.run_sync` call per batch:
the same transaction as the ORM work of the turn. A turn's `storage.db.TurnSession` that has
not made its ORM session yet runs them on its pooled connection instead (one
`AsyncConnection.run_sync` call per batch, nothing to flush). When anything listens — `echo`, SQL logging
at INFO, or an engine event on statement execution (`before_execute`, `before_cursor_execute`,
`after_cursor_execute`, `after_execute`, `handle_error`) — each goes through
`Connection.exec_driver_sql`, so the listeners see it as any other statement. When nothing
listens, it goes to the same DBAPI cursor directly, skipping the execution context and the
result object (40–70 µs per statement on SQLite): errors are raised as SQLAlchemy's
exceptions and a lost connection is invalidated, as SQLAlchemy would. The asyncpg adapter
prepares each statement once per connection (its statement cache): a turn's statements are
a fixed, small set of SQL strings — several rows go in one `executemany`, not in a text per
row count.

On PostgreSQL every statement is a round trip, so `Cursor.write` runs several writes whose
results nobody reads (a turn's replies, outbox rows and conversation UPDATE) as one
statement: data-modifying WITHs, one write a table.

This module reads two private names of SQLAlchemy (`Connection._echo`, the per-event
listener collections under `Connection.dispatch` and `Dialect.dispatch`); pyproject pins SQLAlchemy to its minor
version and tests/storage/test_driver.py fails when either moves.

Everything off the hot path uses the ORM and Core as usual.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import JSON, ColumnElement, Date, DateTime, Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import visitors
from sqlalchemy.sql.expression import Executable

from storage.db import TurnSession

__all__ = ["Cursor", "Insert", "Query", "Scalar", "UpdateById", "Write", "listened", "run"]


def listened(connection: Connection) -> bool:
    """True when echo / SQL logging or an execution event would see statements on `connection`
    (listeners on the engine or its class; on the dialect for `handle_error`)."""
    if connection._echo:
        return True
    dispatch = connection.engine.dispatch  # its listener collections are attributes once looked up
    return (bool(dispatch.before_execute) or bool(dispatch.before_cursor_execute)
            or bool(dispatch.after_cursor_execute) or bool(dispatch.after_execute)
            or bool(connection.dialect.dispatch.handle_error))


_remembered: dict[tuple, Callable[[Any], Any]] = {}


def _remembering(process: Callable[[Any], Any], key: tuple) -> Callable[[Any], Any]:
    """A datetime bind processor that answers a repeated value at once: a turn writes the
    same `now` into many columns of several rows, and formatting a datetime is the costliest
    processor on SQLite. One per type and dialect (`key`), shared by every statement."""
    found = _remembered.get(key)
    if found is not None:
        return found
    last = [(object(), None)]  # one (value, text) pair, replaced whole: safe across threads

    def remembered(value):
        pair = last[0]
        if value is pair[0]:
            return pair[1]
        out = process(value)
        last[0] = (value, out)
        return out

    _remembered[key] = remembered
    return remembered


def _empty_json_at_once(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON bind processor that answers an empty list or dict — most attachments, buttons,
    stacks — with the text it always gives for them."""
    empty_list, empty_dict = process([]), process({})

    def processed(value):
        if not value and value is not None:
            if type(value) is list:
                return empty_list
            if type(value) is dict:
                return empty_dict
        return process(value)

    return processed


def _fast(process: Callable[[Any], Any], type_, dialect: Dialect) -> Callable[[Any], Any]:
    impl = getattr(type_, "impl", type_)  # a TypeDecorator's underlying type
    if isinstance(impl, (DateTime, Date)):
        return _remembering(process, (dialect.name, type(type_), repr(type_)))
    if isinstance(impl, JSON):
        return _empty_json_at_once(process)
    return process


@dataclass(frozen=True)
class Scalar:
    """A scalar subquery read along with another statement's row (`people.load_for_turn`
    takes some): `build(dialect name)` gives the Core expression, `read` turns its value
    into what the caller wants."""

    build: Callable[[str], ColumnElement]
    read: Callable[[Any], Any] = lambda value: value


class _Compiled:
    """One statement compiled for one dialect: its SQL string, where each positional
    parameter comes from, the processors that are not the identity."""

    __slots__ = ("sql", "slots", "binds", "results")

    def __init__(self, stmt: Executable, dialect: Dialect, column_keys: Sequence[str] | None, given: set[str],
                 defaults: dict[str, Callable[[], Any]]):
        compiled = stmt.compile(dialect=dialect, column_keys=list(column_keys) if column_keys is not None else None)
        self.sql = compiled.string
        names = compiled.positiontup or ()
        slots: list[tuple[str, Callable[[], Any] | None]] = []
        binds = []
        for position, name in enumerate(names):
            param = compiled.binds[name]
            if name in given:
                slots.append((name, None))
            elif name in defaults:
                slots.append((name, defaults[name]))
            else:  # a value fixed in the statement (a literal compared to a column)
                value = param.effective_value
                slots.append((name, lambda value=value: value))
            process = param.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds.append((position, _fast(process, param.type, dialect)))
        self.slots = tuple(slots)
        self.binds = tuple(binds)
        results = []
        for position, column in enumerate(getattr(stmt, "exported_columns", ())):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                results.append((position, process))
        self.results = tuple(results)

    def params(self, values: dict[str, Any]) -> list:
        out = [values[name] if default is None else default() for name, default in self.slots]
        for position, process in self.binds:
            out[position] = process(out[position])
        return out

    def read(self, row: Sequence[Any]) -> tuple:
        if not self.results:
            return tuple(row)
        out = list(row)
        for position, process in self.results:
            out[position] = process(out[position])
        return tuple(out)


class _Statement:
    """A Core statement (or, where dialects differ, a function of the dialect's name that
    builds it) compiled on first use per dialect and set of given columns."""

    def __init__(self, build: Executable | Callable[[str], Executable]):
        self._build = build if callable(build) and not isinstance(build, Executable) else (lambda _name: build)
        self._compiled: dict[tuple, _Compiled] = {}

    def _defaults(self, stmt: Executable) -> dict[str, Callable[[], Any]]:
        return {}

    def compiled(self, dialect: Dialect, keys: tuple[str, ...] | None = None) -> _Compiled:
        key = (dialect.name, dialect.driver, keys)
        found = self._compiled.get(key)
        if found is None:
            stmt = self._build(dialect.name)
            given = _bind_names(stmt) | set(keys or ())
            found = self._compiled[key] = _Compiled(stmt, dialect, keys, given, self._defaults(stmt))
        return found


def _bind_names(stmt: Executable) -> set[str]:
    """The names of the statement's `bindparam()`s that have no value of their own (the
    caller gives them)."""
    return {b.key for b in visitors.iterate(stmt) if getattr(b, "__visit_name__", "") == "bindparam"
            and b.value is None and b.callable is None and not b.unique}


class Query(_Statement):
    """A statement with rows to read (usually a `select`), its parameters named by
    `bindparam("name")`: `cursor.rows(query, name=…)`, `cursor.one(query, name=…)`.
    `names`: parameters the caller gives that a walk of the statement does not see (those
    inside a WITH)."""

    def __init__(self, build: Executable | Callable[[str], Executable], names: Sequence[str] = ()):
        super().__init__(build)
        self._names = tuple(names)

    def compiled(self, dialect: Dialect, keys: tuple[str, ...] | None = None) -> _Compiled:
        key = (dialect.name, dialect.driver, keys)
        found = self._compiled.get(key)
        if found is None:
            stmt = self._build(dialect.name)
            given = _bind_names(stmt) | set(keys or ()) | set(self._names)
            found = self._compiled[key] = _Compiled(stmt, dialect, keys, given, self._defaults(stmt))
        return found


def _python_default(column, which: str) -> Callable[[], Any] | None:
    default = getattr(column, which)
    if default is None or not (default.is_scalar or default.is_callable):
        return None  # no default, or a SQL expression / sequence: the database's business
    if default.is_scalar:
        value = default.arg
        return lambda: value
    fn = default.arg  # SQLAlchemy wraps a callable default to take the execution context
    return lambda: fn(None)


class Insert(_Statement):
    """INSERT into a model table: the columns the rows give, the Python defaults of the
    others (server-side defaults are the database's). Several rows: one `executemany`.
    `on_conflict`: the unique columns of ON CONFLICT DO NOTHING; `returning`: a column to
    return (one row at a time), followed by the values of the scalar subqueries `also`."""

    def __init__(self, table: Table, *, on_conflict: Sequence[str] = (), returning: str = "",
                 also: tuple[Scalar, ...] = ()):
        self.table = table
        self.returns = bool(returning)
        self._on_conflict = tuple(on_conflict)

        def build(dialect_name: str) -> Executable:
            if on_conflict:
                module = postgresql if dialect_name == "postgresql" else sqlite
                stmt = module.insert(table).on_conflict_do_nothing(index_elements=list(on_conflict))
            else:
                stmt = insert(table)
            if not returning:
                return stmt
            return stmt.returning(table.c[returning], *(scalar.build(dialect_name) for scalar in also))

        super().__init__(build)

    def _defaults(self, stmt: Executable) -> dict[str, Callable[[], Any]]:
        out = {}
        for column in self.table.columns:
            make = _python_default(column, "default")
            if make is not None:
                out[column.key] = make
        return out

    def of(self, rows: Iterable[dict[str, Any]]) -> "Write":
        """These rows as one of several writes (`Cursor.write`); no RETURNING, no ON CONFLICT."""
        if self.returns or self._on_conflict:
            raise ValueError("only a plain INSERT can be one of several writes")
        return Write(self, list(rows))

    def whole_row(self, given: dict[str, Any]) -> dict[str, Any]:
        """Every column but the autoincrement key: the given values, else the column's Python
        default, else None — what the row will hold, so an ORM object can be built from it
        without reading it back. A column with only a server-side default cannot be known
        here: ValueError."""
        out = {}
        for column in self.table.columns:
            key = column.key
            if key in given:
                out[key] = given[key]
            elif column is self.table.autoincrement_column:
                continue
            elif column.server_default is not None and column.default is None:
                raise ValueError(f"{self.table.name}.{key}: a server default is not known before the INSERT")
            else:
                make = _python_default(column, "default")
                out[key] = None if make is None else make()
        return out


class UpdateById(_Statement):
    """UPDATE of some columns of one row, by id; `onupdate` of the columns left out is applied."""

    def __init__(self, table: Table):
        self.table = table
        super().__init__(update(table).where(table.c.id == bindparam("row_id")))

    def of(self, row_id: int, changes: dict[str, Any]) -> "Write":
        """This change as one of several writes (`Cursor.write`); nothing when `changes` is empty."""
        return Write(self, [changes] if changes else [], row_id)

    def _defaults(self, stmt: Executable) -> dict[str, Callable[[], Any]]:
        out = {}
        for column in self.table.columns:
            make = _python_default(column, "onupdate")
            if make is not None:
                out[column.key] = make
        return out


class Write:
    """One INSERT of some rows or one UPDATE of a row by id, to run with others in
    `Cursor.write`: `Insert.of(rows)`, `UpdateById.of(row_id, changes)`."""

    __slots__ = ("stmt", "rows", "row_id")

    def __init__(self, stmt: Insert | UpdateById, rows: list[dict[str, Any]], row_id: int | None = None):
        self.stmt, self.rows, self.row_id = stmt, rows, row_id

    def keys(self) -> tuple[str, ...]:
        """The columns its rows give (all of them, in order of appearance)."""
        keys = tuple(self.rows[0])
        for row in self.rows:
            if tuple(row) != keys:
                return tuple(dict.fromkeys(key for row in self.rows for key in row))
        return keys


_UNSET = object()


class _Together:
    """Several writes compiled as one statement for PostgreSQL: each but the last a
    data-modifying WITH (PostgreSQL runs them all on one snapshot), the last the main
    statement. Every column is a parameter of its own (`w{write}r{row}_{column}`), the Python
    defaults and `onupdate`s of the columns a row leaves out computed here, so SQLAlchemy
    adds none. Built once per shape: which statements, how many rows, which columns."""

    __slots__ = ("sql", "slots", "binds")

    def __init__(self, shape: tuple, dialect: Dialect):
        parts, slot_of = [], {}
        for j, (stmt, n, keys) in enumerate(shape):
            table = stmt.table
            defaults = stmt._defaults(None)  # Python defaults (INSERT) or onupdates (UPDATE) by column
            columns = [*keys, *(k for k in defaults if k not in keys)]
            rows = []
            for i in range(n if isinstance(stmt, Insert) else 1):
                row = {}
                for key in columns:
                    name = f"w{j}r{i}_{key}"
                    row[key] = bindparam(name, type_=table.c[key].type)
                    slot_of[name] = (j, i, key if key in keys else _UNSET, defaults.get(key))
                rows.append(row)
            if isinstance(stmt, Insert):
                parts.append(insert(table).values(rows))
            else:
                slot_of[f"w{j}_row_id"] = (j, -1, "id", None)
                parts.append(update(table).where(table.c.id == bindparam(f"w{j}_row_id", type_=table.c.id.type))
                             .values(rows[0]))
        stmt = parts[-1].add_cte(*(part.cte(f"w{j}") for j, part in enumerate(parts[:-1])))
        compiled = stmt.compile(dialect=dialect)
        self.sql = compiled.string
        slots, binds = [], []
        for position, name in enumerate(compiled.positiontup or ()):
            if name not in slot_of:
                raise ValueError(f"{name}: a parameter no write gives")
            slots.append(slot_of[name])
            param = compiled.binds[name]
            process = param.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                binds.append((position, _fast(process, param.type, dialect)))
        self.slots = tuple(slots)
        self.binds = tuple(binds)

    def params(self, writes: Sequence[Write]) -> list:
        out = []
        for j, i, key, default in self.slots:
            if i < 0:
                out.append(writes[j].row_id)
                continue
            value = writes[j].rows[i].get(key, _UNSET) if key is not _UNSET else _UNSET
            if value is _UNSET:
                value = default() if default is not None else None
            out.append(value)
        for position, process in self.binds:
            out[position] = process(out[position])
        return out


_together: dict[tuple, _Together] = {}
# a write of more rows runs on its own: the shapes (SQL texts, each prepared once per
# connection) stay few — a turn's replies are one to a few rows
TOGETHER_ROWS = 6


# ── running them ─────────────────────────────────────────────────────────────────────────


class Cursor:
    """The session's connection, for the functions given to `run`."""

    __slots__ = ("dialect", "_connection", "_sa_dialect", "_listened", "_dbapi", "_cursor")

    def __init__(self, connection: Connection):
        self._connection = connection
        self._sa_dialect = connection.dialect
        self.dialect = self._sa_dialect.name
        self._listened = listened(connection)
        self._dbapi = self._cursor = None
        if not self._listened:
            self._dbapi = connection.connection.dbapi_connection
            self._cursor = self._dbapi.cursor()

    def _run(self, sql: str, params: Any, many: bool = False) -> Any:
        """Execute; returns the cursor (or the result, through the connection)."""
        if self._listened:
            return self._connection.exec_driver_sql(sql, [tuple(p) for p in params] if many else tuple(params))
        cursor = self._cursor
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        except self._sa_dialect.loaded_dbapi.Error as exc:
            disconnect = self._sa_dialect.is_disconnect(exc, self._dbapi, cursor)
            if disconnect:
                self._connection.invalidate(exc)
            raise DBAPIError.instance(
                sql, params, exc, self._sa_dialect.loaded_dbapi.Error,
                connection_invalidated=disconnect, dialect=self._sa_dialect,
            ) from exc
        return cursor

    def rows(self, query: Query, **params: Any) -> list[tuple]:
        compiled = query.compiled(self._sa_dialect)
        read = compiled.read
        return [read(row) for row in self._run(compiled.sql, compiled.params(params)).fetchall()]

    def one(self, query: Query, **params: Any) -> tuple | None:
        compiled = query.compiled(self._sa_dialect)
        row = self._run(compiled.sql, compiled.params(params)).fetchone()
        return None if row is None else compiled.read(row)

    def execute(self, query: Query, **params: Any) -> int:
        """A statement without rows to read; the number of rows it changed."""
        compiled = query.compiled(self._sa_dialect)
        return self._run(compiled.sql, compiled.params(params)).rowcount

    def insert(self, stmt: Insert, rows: Iterable[dict[str, Any]]) -> list[tuple]:
        """Insert the rows, in order (nothing when there are none); the RETURNING row, if any.
        Consecutive rows that give the same columns go in one `executemany`."""
        rows = list(rows)
        if not rows:
            return []
        if stmt.returns:
            if len(rows) > 1:
                raise ValueError("an INSERT … RETURNING takes one row at a time")
            compiled = stmt.compiled(self._sa_dialect, tuple(rows[0]))
            row = self._run(compiled.sql, compiled.params(rows[0])).fetchone()
            return [] if row is None else [compiled.read(row)]
        start = 0
        while start < len(rows):
            keys = tuple(rows[start])
            end = start + 1
            while end < len(rows) and tuple(rows[end]) == keys:
                end += 1
            compiled = stmt.compiled(self._sa_dialect, keys)
            if end - start == 1:
                self._run(compiled.sql, compiled.params(rows[start]))
            else:
                self._run(compiled.sql, [compiled.params(row) for row in rows[start:end]], many=True)
            start = end
        return []

    def update(self, stmt: UpdateById, row_id: int, changes: dict[str, Any]) -> None:
        if changes:
            compiled = stmt.compiled(self._sa_dialect, tuple(changes))
            self._run(compiled.sql, compiled.params({**changes, "row_id": row_id}))

    def write(self, *writes: Write | None) -> None:
        """Writes whose results nobody reads (None and empty ones skipped). On PostgreSQL
        several are one statement, so one round trip: when each goes to another table and
        has at most TOGETHER_ROWS rows (the rows of one write keep their order; the order
        between writes is PostgreSQL's). Otherwise each runs, in order, as `insert` /
        `update` would run it."""
        parts = [w for w in writes if w is not None and w.rows]
        if (len(parts) > 1 and self.dialect == "postgresql" and all(len(w.rows) <= TOGETHER_ROWS for w in parts)
                and len({w.stmt.table for w in parts}) == len(parts)):
            dialect = self._sa_dialect
            shape = tuple((w.stmt, len(w.rows), w.keys()) for w in parts)
            key = (dialect.driver, shape)
            together = _together.get(key)
            if together is None:
                together = _together[key] = _Together(shape, dialect)
            self._run(together.sql, together.params(parts))
            return
        for w in parts:
            if isinstance(w.stmt, Insert):
                self.insert(w.stmt, w.rows)
            else:
                self.update(w.stmt, w.row_id, w.rows[0])

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()


async def run(session: AsyncSession, fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(cursor, *args)` on the session's connection, inside its transaction (begun here if
    it has not been); returns what `fn` returns. Pending ORM changes are flushed first, as
    before any ORM query (autoflush), so `fn` sees them."""

    if type(session) is TurnSession and session.driver_connection() is not None:  # no ORM session yet
        return await session.run_on_connection(_on_connection, fn, args)

    def call(sync_session):
        if sync_session.autoflush:
            sync_session.flush()  # returns at once when nothing is pending
        cursor = Cursor(_connection(sync_session))
        try:
            return fn(cursor, *args)
        finally:
            cursor.close()

    return await session.run_sync(call)


def _on_connection(connection: Connection, fn: Callable[..., Any], args: tuple) -> Any:
    if not connection.in_transaction():
        connection.begin()
    cursor = Cursor(connection)
    try:
        return fn(cursor, *args)
    finally:
        cursor.close()


_CONNECTION = "driver.connection"  # in Session.info: (its transaction, that transaction's Connection)


def _connection(sync_session) -> Connection:
    """`sync_session.connection()`, which costs more than a statement on SQLite (the session's
    transaction states are checked through several decorated calls): taken again from the
    session's `info` while the same transaction is active, outside a savepoint (whose first
    use of the connection begins it)."""
    transaction = sync_session.get_transaction()
    kept = sync_session.info.get(_CONNECTION)
    if (kept is not None and transaction is not None and kept[0] is transaction and transaction.is_active
            and not sync_session.in_nested_transaction()):
        return kept[1]
    connection = sync_session.connection()
    sync_session.info[_CONNECTION] = (sync_session.get_transaction(), connection)
    return connection
