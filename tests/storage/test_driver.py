"""storage/driver.py: statements on the driver's cursor, inside the session's transaction, on
SQLite and PostgreSQL. What they write, the ORM must read back as its own; what goes wrong
must surface as SQLAlchemy's exceptions."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, create_engine, event, select
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.exc import IntegrityError

from storage import driver
from storage.models import Conversation, KeyValue, Message, OutboxMessage, Person
from tests.storage.helpers import NOW, make_person

INSERT_OUTBOX = driver.Insert(OutboxMessage.__table__)
INSERT_IN = driver.Insert(Message.__table__, on_conflict=("channel", "channel_message_id"), returning="id")
UPDATE_PERSON = driver.UpdateById(Person.__table__)


async def test_inserted_rows_read_back_through_the_orm(db):
    later = NOW + timedelta(seconds=1, microseconds=250)
    async with db.session() as s:
        await driver.run(s, lambda cur: cur.insert(INSERT_OUTBOX, [
            {"channel": "rest", "recipient": "u1", "text": "你好", "buttons": [{"title": "一", "payload": "/a"}],
             "attachments": [], "status": "sent", "next_attempt_at": NOW, "created_at": later, "sent_at": later},
            {"channel": "rest", "recipient": "u1", "text": "second", "next_attempt_at": NOW, "created_at": NOW},
        ]))
    async with db.session() as s:
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [r.text for r in rows] == ["你好", "second"]
    first, second = rows
    assert first.buttons == [{"title": "一", "payload": "/a"}] and first.attachments == []
    assert first.created_at == later and first.created_at.tzinfo is not None and first.sent_at == later
    # columns left out get the model's Python defaults
    assert second.buttons == [] and second.status == "pending" and second.attempts == 0 and second.error == ""
    assert second.sent_at is None and second.claimed_by is None and second.kind == "reply"


async def test_insert_on_conflict_returns_nothing_for_a_repeat(db):
    row = {"channel": "rest", "channel_message_id": "m1", "direction": "in", "text": "a", "created_at": NOW}
    async with db.session() as s:
        first = await driver.run(s, lambda cur: cur.insert(INSERT_IN, [row]))
        again = await driver.run(s, lambda cur: cur.insert(INSERT_IN, [row]))
    assert len(first) == 1 and again == []


async def test_update_by_id_and_column_readers(db):
    async with db.session() as s:
        p = await make_person(s)
        pid = p.id
    seen = NOW + timedelta(hours=1)
    async with db.session() as s:
        await driver.run(s, lambda cur: cur.update(UPDATE_PERSON, pid, {
            "household": [{"relation": "child", "name": "小明"}], "opted_out": True, "last_seen_at": seen}))
        query = driver.Query(select(Person.__table__).where(Person.id == bindparam("pid")))
        names = [c.key for c in Person.__table__.columns]
        read = await driver.run(s, lambda cur: dict(zip(names, cur.one(query, pid=pid))))
    assert read["household"] == [{"relation": "child", "name": "小明"}]
    assert read["opted_out"] is True and read["consent_given"] is True
    assert read["last_seen_at"] == seen and read["last_seen_at"].tzinfo == timezone.utc
    async with db.session() as s:
        orm = await s.get(Person, pid)
        assert orm.household == read["household"] and orm.opted_out and orm.last_seen_at == seen


async def test_several_statements_in_one_batch_in_order(db):
    async with db.session() as s:
        p = await make_person(s)
        s.add(Conversation(person_id=p.id))
        pid = p.id
    update_conversation = driver.UpdateById(Conversation.__table__)
    async with db.session() as s:
        conv_id = (await s.execute(select(Conversation.id))).scalar_one()

        def write(cur):
            cur.insert(INSERT_OUTBOX, [{"channel": "rest", "recipient": "u1", "text": "x", "next_attempt_at": NOW,
                                        "created_at": NOW}])
            cur.update(UPDATE_PERSON, pid, {"locale": "en"})
            cur.update(update_conversation, conv_id, {"step": "ask", "state": {"waiting": True}})

        await driver.run(s, write)
    async with db.session() as s:
        assert (await s.get(Person, pid)).locale == "en"
        conv = await s.get(Conversation, conv_id)
        assert conv.step == "ask" and conv.state == {"waiting": True}
        assert conv.updated_at > NOW  # onupdate=utcnow, as the ORM would have set it
        assert len((await s.execute(select(OutboxMessage))).scalars().all()) == 1


async def test_a_returning_insert_takes_one_row(db):
    async with db.session() as s:
        rows = [{"channel": "rest", "channel_message_id": m, "direction": "in", "created_at": NOW} for m in "ab"]
        with pytest.raises(ValueError):
            await driver.run(s, lambda cur: cur.insert(INSERT_IN, rows))


async def test_driver_errors_are_sqlalchemy_errors_and_roll_back(db):
    insert_kv = driver.Insert(KeyValue.__table__)
    with pytest.raises(IntegrityError):
        async with db.session() as s:
            s.add(KeyValue(key="k", value={"a": 1}))  # pending: flushed before the driver runs
            await driver.run(s, lambda cur: cur.insert(insert_kv, [{"key": "k", "value": {}, "updated_at": NOW}]))
    async with db.session() as s:
        assert await s.get(KeyValue, "k") is None  # the whole transaction rolled back


async def test_pending_orm_changes_are_visible_to_driver_statements(db):
    async with db.session() as s:
        s.add(KeyValue(key="seen", value={"n": 2}, updated_at=NOW))
        query = driver.Query(select(KeyValue.value).where(KeyValue.key == bindparam("key")))
        value = await driver.run(s, lambda cur: cur.one(query, key="seen")[0])
    assert value == {"n": 2}  # the JSON column's own result processor


def test_statements_are_compiled_by_sqlalchemy_once_per_dialect():
    pg, lite = postgresql_asyncpg.dialect(), SQLiteDialect_pysqlite()
    compiled = INSERT_IN.compiled(pg, ("channel", "channel_message_id", "direction", "created_at"))
    assert compiled is INSERT_IN.compiled(pg, ("channel", "channel_message_id", "direction", "created_at"))
    assert compiled.sql.startswith("INSERT INTO messages (") and "$1" in compiled.sql and "?" not in compiled.sql
    assert "ON CONFLICT (channel, channel_message_id) DO NOTHING RETURNING messages.id" in compiled.sql
    # Python defaults of the columns left out are parameters; no server_default column is sent
    names = [name for name, _ in compiled.slots]
    assert {"text", "attachments", "intent"} <= set(names) and "id" not in names
    lite_sql = INSERT_IN.compiled(lite, ("channel", "channel_message_id", "direction", "created_at")).sql
    assert "?" in lite_sql and "$1" not in lite_sql


def test_update_leaves_out_nothing_it_must_set():
    update_conversation = driver.UpdateById(Conversation.__table__)
    compiled = update_conversation.compiled(SQLiteDialect_pysqlite(), ("step",))
    assert [name for name, _ in compiled.slots] == ["step", "updated_at", "row_id"]


def test_sqlalchemy_internals_this_module_reads_are_where_they_were():
    """storage/driver.py reads `Connection._echo` and the listener collections of
    `Connection.dispatch`: if SQLAlchemy moves them, this fails (pyproject pins the minor
    version)."""
    import sqlalchemy

    assert sqlalchemy.__version__.startswith("2.1."), "driver.listened() was checked against SQLAlchemy 2.1"
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        assert conn._echo is False and driver.listened(conn) is False
    seen = []
    event.listen(engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    with engine.connect() as conn:
        assert driver.listened(conn) is True
    echoing = create_engine("sqlite://", echo=True)
    with echoing.connect() as conn:
        assert conn._echo is True and driver.listened(conn) is True


async def test_engine_events_see_the_turn_statements(db):
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        row = {"channel": "rest", "channel_message_id": "ev", "direction": "in", "text": "a", "created_at": NOW}
        async with db.session() as s:
            ids = await driver.run(s, lambda cur: cur.insert(INSERT_IN, [row]))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)
    assert len(ids) == 1 and any(sql.startswith("INSERT INTO messages") for sql in seen)


async def test_every_kind_of_statement_runs_through_the_connection_when_listened(db):
    async with db.session() as s:
        p = await make_person(s)
        pid = p.id
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.split()[0], executemany))

    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    try:
        query = driver.Query(select(Person.locale).where(Person.id == bindparam("pid")))

        def batch(cur):
            cur.insert(INSERT_OUTBOX, [{"channel": "rest", "recipient": "u1", "text": t, "next_attempt_at": NOW,
                                        "created_at": NOW} for t in ("a", "b")])
            cur.update(UPDATE_PERSON, pid, {"locale": "en"})
            return cur.one(query, pid=pid)[0], cur.rows(query, pid=pid)

        async with db.session() as s:
            one, rows = await driver.run(s, batch)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)
    assert one == "en" and rows == [("en",)]
    assert ("INSERT", True) in seen and ("UPDATE", False) in seen and ("SELECT", False) in seen
    async with db.session() as s:
        assert [r.text for r in (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars()] == ["a", "b"]


async def test_several_writes_in_one_call(db):
    """`Cursor.write`: inserts of several rows (some columns left to their Python defaults,
    rows giving other columns, more rows than one statement takes together) and UPDATEs by
    id (`onupdate` applied) — on PostgreSQL one statement where it can be: one write a table."""
    async with db.session() as s:
        p = await make_person(s)
        s.add(Conversation(person_id=p.id))
        pid = p.id
    insert_message = driver.Insert(Message.__table__)
    update_conversation = driver.UpdateById(Conversation.__table__)
    seen = []

    def before(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    async with db.session() as s:
        conv_id = (await s.execute(select(Conversation.id))).scalar_one()

        def write(cur):
            cur.write(
                insert_message.of([{"channel": "rest", "person_id": pid, "direction": "out", "text": "一",
                                    "created_at": NOW},
                                   {"channel": "rest", "person_id": pid, "direction": "out", "text": "二",
                                    "created_at": NOW},
                                   {"channel": "rest", "person_id": pid, "direction": "out", "created_at": NOW,
                                    "flow_step": "f:s"}]),
                None,
                INSERT_OUTBOX.of([]),
                INSERT_OUTBOX.of([{"channel": "rest", "recipient": "u1", "text": str(i), "next_attempt_at": NOW,
                                   "created_at": NOW} for i in range(driver.TOGETHER_ROWS)]),
                update_conversation.of(conv_id, {"step": "ask", "slots": {"名字": "阿花"}}),
                UPDATE_PERSON.of(pid, {}),
            )
            # more rows than go together: each write on its own, all rows written
            cur.write(INSERT_OUTBOX.of([{"channel": "rest", "recipient": "u1", "text": str(i), "next_attempt_at": NOW,
                                         "created_at": NOW} for i in range(driver.TOGETHER_ROWS, 2 * driver.TOGETHER_ROWS + 1)]),
                      update_conversation.of(conv_id, {"mode": "human"}))

        event.listen(db.engine.sync_engine, "before_cursor_execute", before)
        try:
            await driver.run(s, write)
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", before)
    async with db.session() as s:
        out = (await s.execute(select(Message).order_by(Message.id))).scalars().all()
        rows = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
        conv = await s.get(Conversation, conv_id)
    assert [(m.text, m.intent, m.attachments, m.flow_step) for m in out] == [
        ("一", "", [], None), ("二", "", [], None), ("", "", [], "f:s")]
    assert [r.text for r in rows] == [str(i) for i in range(2 * driver.TOGETHER_ROWS + 1)]
    assert all(r.status == "pending" and r.buttons == [] and r.attempts == 0 for r in rows)
    assert conv.step == "ask" and conv.slots == {"名字": "阿花"} and conv.mode == "human"
    assert conv.updated_at > NOW  # onupdate=utcnow
    if db.engine.dialect.name == "postgresql":  # the first call one statement, the second two
        assert len(seen) == 3 and seen[0].startswith("WITH w0 AS") and "UPDATE conversations" in seen[0]
        assert "INSERT INTO messages" in seen[0] and "INSERT INTO outbox" in seen[0]
