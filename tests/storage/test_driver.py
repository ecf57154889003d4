"""storage/driver.py: statements on the driver's cursor, inside the session's transaction, on
SQLite and PostgreSQL. What they write, the ORM must read back as its own; what goes wrong
must surface as SQLAlchemy's exceptions."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
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
        columns = driver.Columns(Person.__table__, "p")
        sql = driver.Sql(f"SELECT {columns.sql} FROM people p WHERE p.id = ?")
        read = await driver.run(s, lambda cur: columns.read(cur.one(sql, (pid,))))
    assert read["household"] == [{"relation": "child", "name": "小明"}]
    assert read["opted_out"] is True and read["consent_given"] is True
    assert read["last_seen_at"] == seen and read["last_seen_at"].tzinfo == timezone.utc
    async with db.session() as s:
        orm = await s.get(Person, pid)
        assert orm.household == read["household"] and orm.opted_out and orm.last_seen_at == seen


async def test_together_runs_every_statement_in_order(db):
    async with db.session() as s:
        p = await make_person(s)
        s.add(Conversation(person_id=p.id))
        pid = p.id
    update_conversation = driver.UpdateById(Conversation.__table__)
    async with db.session() as s:
        conv_id = (await s.execute(select(Conversation.id))).scalar_one()

        def write(cur):
            with cur.together():
                cur.insert(INSERT_OUTBOX, [{"channel": "rest", "recipient": "u1", "text": "x", "next_attempt_at": NOW,
                                            "created_at": NOW}])
                cur.update(UPDATE_PERSON, pid, {"locale": "en"})
                cur.update(update_conversation, conv_id, {"step": "ask", "state": {"waiting": True}})

        await driver.run(s, write)
    async with db.session() as s:
        assert (await s.get(Person, pid)).locale == "en"
        conv = await s.get(Conversation, conv_id)
        assert conv.step == "ask" and conv.state == {"waiting": True}
        assert len((await s.execute(select(OutboxMessage))).scalars().all()) == 1


async def test_a_returning_insert_cannot_be_held(db):
    async with db.session() as s:
        def write(cur):
            with cur.together():
                cur.insert(INSERT_IN, [{"channel": "rest", "channel_message_id": "m", "direction": "in",
                                        "created_at": NOW}])

        with pytest.raises(RuntimeError):
            await driver.run(s, write)


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
        sql = driver.Sql('SELECT value FROM kv WHERE "key" = ?')
        value = await driver.run(s, lambda cur: driver.read_json(cur.one(sql, ("seen",))[0]))
    assert value == {"n": 2}


def test_sqlite_datetimes_are_stored_as_sqlalchemy_stores_them():
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=8)))
    assert driver._sqlite_when(when) == "2026-01-01 19:04:05.000000"
    assert driver._sqlite_when(datetime(2026, 1, 2, 3, 4, 5, 7)) == "2026-01-02 03:04:05.000007"
    assert driver.Sql("a = ? AND b IN (?, ?)").text("postgresql") == "a = $1 AND b IN ($2, $3)"


def test_statements_held_together_become_one_on_postgresql():
    joined, params = driver._joined([(driver.Sql("INSERT INTO a VALUES (?)"), [1]),
                                     (driver.Sql("UPDATE b SET x = ? WHERE id = ?"), [2, 3])])
    assert joined.text("postgresql") == "WITH s1 AS (INSERT INTO a VALUES ($1)) UPDATE b SET x = $2 WHERE id = $3"
    assert params == [1, 2, 3]
