"""A villager's turn against the other transactions that lock the same person's rows, on
PostgreSQL (docs/performance.md "Row lock order"): every path takes the person's
conversation row first, so none waits for a turn while holding what the turn waits for.

Each race is made deterministic, not timed: a gate transaction holds the person's
conversation row; the turn is started and seen waiting for it (pg_stat_activity), then the
other operation is started and seen waiting too; then the gate lets go. The turn is first in
line for the row: with the other operation holding a row the turn needs next (the handoff,
the person) and waiting for the conversation, PostgreSQL reports a deadlock (40P01)."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from bot.desk import service as desk
from storage import erasure, people
from storage.models import ChannelIdentity, Conversation, Handoff, Message, OutboxMessage, Person, Staff
from tests.bot.pipeline_helpers import make_services
from vocab.messages import Inbound

pytestmark = pytest.mark.parametrize("empty_db_url", ["postgres"], indirect=True)

ROUNDS = 5
_WAITING = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'")


_BLOCKED_BY = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")


async def _until_waiting(db, n: int, query=_WAITING, **params) -> None:
    """Until n other backends of this database wait for a lock (at most 30 s)."""
    async with db.engine.connect() as conn:
        for _ in range(3000):
            if (await conn.execute(query, params)).scalar() >= n:
                return
            await conn.rollback()  # a fresh snapshot of pg_stat_activity
            await asyncio.sleep(0.01)
    raise AssertionError(f"{n} transactions never waited for a lock")


async def _race(db, person_id: int, turn, other):
    """The turn, then `other`, both queued behind a gate that holds the person's conversation
    row; the gate lets go once both wait. Returns their results (exceptions included)."""
    async with db.session() as gate:
        await gate.execute(select(Conversation.id).where(Conversation.person_id == person_id).with_for_update())
        first = asyncio.ensure_future(turn())
        await _until_waiting(db, 1)
        second = asyncio.ensure_future(other())
        await _until_waiting(db, 2)
    return await asyncio.gather(first, second, return_exceptions=True)


async def _villager_with_claimed_handoff(services, db, sender: str):
    await services.dispatcher.handle(Inbound("rest", sender, "你好", f"{sender}-hello", display_name="王大妈"))
    async with db.session() as s:
        person = (await s.execute(select(Person).join(ChannelIdentity).where(
            ChannelIdentity.external_id == sender))).scalar_one()
        staff = (await s.execute(select(Staff).where(Staff.username == "li"))).scalar_one_or_none()
        if staff is None:
            staff = Staff(username="li", display_name="李社工", roles=["admin"])
            worker = Person(display_name="李社工")
            s.add_all([staff, worker])
            await s.flush()
            s.add(ChannelIdentity(channel="telegram", external_id="tg-li", person_id=worker.id, staff_id=staff.id))
        handoff = Handoff(person_id=person.id, status="claimed", claimed_by_staff_id=staff.id)
        s.add(handoff)
        conv = (await s.execute(select(Conversation).where(Conversation.person_id == person.id))).scalar_one()
        conv.mode = "human"
        await s.flush()
        return person.id, staff.id, handoff.id


async def test_a_turn_and_a_workers_close_of_its_handoff_do_not_deadlock(db):
    """The villager writes (the relay stamps the claimed handoff) while the worker closes the
    handoff from the web inbox (close puts the conversation back in bot mode)."""
    services = make_services(db)
    for n in range(ROUNDS):
        sender = f"v{n}"
        person_id, staff_id, handoff_id = await _villager_with_claimed_handoff(services, db, sender)

        async def turn():
            return await services.dispatcher.handle(Inbound("rest", sender, "屋顶又漏了", f"{sender}-m"))

        async def close():
            async with db.session() as s:
                scope = await desk.scope_for_staff(s, staff_id)
                await desk.close(s, scope, handoff_id, "修好了", now=services.clock())

        replies, closed = await _race(db, person_id, turn, close)
        assert not isinstance(closed, BaseException), closed
        assert not isinstance(replies, BaseException), replies
        assert replies == []  # relayed to the worker: no apology
        async with db.session() as s:
            handoff = await s.get(Handoff, handoff_id)
            conv = (await s.execute(select(Conversation).where(Conversation.person_id == person_id))).scalar_one()
            stored = (await s.execute(select(Message.intent).where(Message.channel_message_id == f"{sender}-m"))).all()
            relayed = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.person_id == person_id, OutboxMessage.kind == "relay",
                OutboxMessage.staff_id == staff_id))).scalar()
        assert handoff.status == "closed" and conv.mode == "bot"
        assert handoff.last_villager_at is not None  # the turn ran first and stamped it
        assert len(stored) == 1 and stored[0].intent != "error"  # stored once, not as a failed turn
        assert relayed == 1


async def test_a_turn_and_an_erasure_of_the_person_do_not_deadlock(db):
    """The villager writes after a while (the turn's read stamps the person's last-seen time)
    while an admin erases the person (the erasure changes the person, then the conversation)."""
    services = make_services(db)
    for n in range(ROUNDS):
        sender = f"e{n}"
        await services.dispatcher.handle(Inbound("rest", sender, "你好", f"{sender}-hello", display_name="王大妈"))
        async with db.session() as s:
            person = (await s.execute(select(Person).join(ChannelIdentity).where(
                ChannelIdentity.external_id == sender))).scalar_one()
            person.last_seen_at = services.clock() - timedelta(hours=2)  # the next turn writes it
            conv = (await s.execute(select(Conversation).where(Conversation.person_id == person.id))).scalar_one()
            conv.slots = {"topic": "dibao"}  # the erasure empties them
            person_id = person.id

        async def turn():
            return await services.dispatcher.handle(Inbound("rest", sender, "在吗", f"{sender}-m"))

        async def erase():
            async with db.session() as s:
                await erasure.erase_person(s, person_id, services.clock(), media_dir=None, actor="staff:1")

        replies, erased = await _race(db, person_id, turn, erase)
        assert not isinstance(erased, BaseException), erased
        assert not isinstance(replies, BaseException), replies
        async with db.session() as s:
            person = await s.get(Person, person_id)
            conv = (await s.execute(select(Conversation).where(Conversation.person_id == person_id))).scalar_one()
            stored = (await s.execute(select(Message).where(Message.channel_message_id == f"{sender}-m"))).scalars().all()
            answered = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.recipient == sender, OutboxMessage.inbound_message_id == stored[0].id))).scalar()
        assert person.erased and conv.slots == {}
        assert len(stored) == 1 and stored[0].intent != "error" and stored[0].text == ""  # erased after the turn
        assert answered == len(replies) >= 1  # answered once, not with an apology
        assert "抱歉" not in replies[0].text


async def test_a_turn_rolled_back_by_a_deadlock_runs_once_more(db, caplog):
    """A transaction in the wrong order — the handoff, then the conversation — against a
    villager's turn that waits for the handoff: PostgreSQL rolls the turn back (its deadlock
    check runs first); the turn runs again, and the message is relayed
    and stored once."""
    services = make_services(db)
    person_id, staff_id, handoff_id = await _villager_with_claimed_handoff(services, db, "d0")
    async with db.session() as wrong:
        # its own deadlock check comes long after the turn's (1 s): the turn is the one rolled back
        await wrong.execute(text("SET LOCAL deadlock_timeout = '30s'"))
        await wrong.execute(update(Handoff).where(Handoff.id == handoff_id).values(last_worker_at=services.clock()))
        pid = (await wrong.execute(text("SELECT pg_backend_pid()"))).scalar()
        turn = asyncio.ensure_future(services.dispatcher.handle(Inbound("rest", "d0", "屋顶又漏了", "d0-m")))
        await _until_waiting(db, 1, _BLOCKED_BY, pid=pid)  # the turn holds the conversation, waits for the handoff
        await wrong.execute(select(Conversation.id).where(Conversation.person_id == person_id).with_for_update())
    assert await turn == []
    assert any("deadlock" in r.getMessage() for r in caplog.records)
    async with db.session() as s:
        stored = (await s.execute(select(Message.intent).where(Message.channel_message_id == "d0-m"))).all()
        relayed = (await s.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.person_id == person_id, OutboxMessage.kind == "relay"))).scalar()
        handoff = await s.get(Handoff, handoff_id)
    assert len(stored) == 1 and stored[0].intent != "error"
    assert relayed == 1 and handoff.last_villager_at is not None


async def test_lock_people_holds_every_conversation_given(db):
    """A merge locks both people's conversations before anything of theirs (one statement)."""
    services = make_services(db)
    ids = []
    for sender in ("a", "b", "c"):
        await services.dispatcher.handle(Inbound("rest", sender, "你好", f"{sender}-hello"))
        async with db.session() as s:
            ids.append((await s.execute(select(ChannelIdentity.person_id).where(
                ChannelIdentity.external_id == sender))).scalar_one())
    async with db.session() as s:
        await people.lock_people(s, ids[1], ids[0])
        async with db.engine.connect() as other:
            for person_id, held in zip(ids, (True, True, False)):
                nowait = select(Conversation.id).where(Conversation.person_id == person_id).with_for_update(nowait=True)
                try:
                    await other.execute(nowait)
                    locked = False
                except DBAPIError as exc:
                    assert "could not obtain lock" in str(exc)
                    locked = True
                await other.rollback()
                assert locked is held, person_id
