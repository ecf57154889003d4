"""The dispatcher through the REST entry point, on SQLite and PostgreSQL: ordering per person,
dedupe, errors in the handler, floods, human-mode relay, the emergency hook, bad input."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

from sqlalchemy import select

from bot.channels.rest import RestAdapter
from vocab.messages import Button, Inbound
from flows.turn import Turn
from storage.db import Database
from storage.models import ChannelIdentity, Conversation, Handoff, Message, OutboxMessage, Person, Staff
from nlu.emergency import detect
from tests.bot.pipeline_helpers import eventually, make_services, running
from tests.standin import StandinNLU

WEBHOOK = "/webhooks/rest/webhook"


class CountingHandler:
    """Counts turns in the conversation state (a read-modify-write that loses updates unless
    turns of one person run one at a time) and echoes the count."""

    async def handle(self, turn: Turn) -> None:
        state = dict(turn.conversation.state or {})
        n = state.get("n", 0) + 1
        await asyncio.sleep(0)  # let other tasks run in the middle of the turn
        turn.conversation.state = {**state, "n": n}
        turn.say(f"{n}:{turn.text}")


async def _replies_by_inbound(db):
    async with db.session() as s:
        inbound = (await s.execute(select(Message).where(Message.direction == "in").order_by(Message.id))).scalars().all()
        out = (await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    return inbound, out


async def test_twenty_messages_of_one_sender_at_once_all_answered_in_order(db):
    services = make_services(db, handler=CountingHandler())
    async with running(services) as client:
        bodies = [{"sender": "flood", "message": f"m{i}", "metadata": {"message_id": f"id{i}"}} for i in range(20)]
        responses = await asyncio.gather(*(client.post(WEBHOOK, json=b) for b in bodies))
    assert all(r.status_code == 200 for r in responses)
    answers = [r.json()[0]["text"] for r in responses]
    # every message answered once, counts 1..20 without gaps or repeats: no lost update
    assert sorted(int(a.split(":")[0]) for a in answers) == list(range(1, 21))
    inbound, out = await _replies_by_inbound(db)
    assert len(inbound) == 20 and len(out) == 20
    # stored in the order they were handled: the n-th stored message got count n
    by_message = {o.inbound_message_id: o.text for o in out}
    assert [by_message[m.id] for m in inbound] == [f"{i}:{m.text}" for i, m in enumerate(inbound, 1)]
    assert [o.inbound_message_id for o in out] == [m.id for m in inbound]


async def test_two_dispatchers_on_one_database_serialise_one_person(db):
    """Two Services with their own engines stand for two server processes: on PostgreSQL the
    conversation row lock, on SQLite BEGIN IMMEDIATE, keeps one person's turns apart."""
    other_db = Database(db.url)
    try:
        a = make_services(db, handler=CountingHandler())
        b = make_services(other_db, handler=CountingHandler())
        await a.dispatcher.handle(Inbound("rest", "shared", "hello", "first"))  # create the person once
        inbound = [Inbound("rest", "shared", f"m{i}", f"x{i}") for i in range(16)]
        results = await asyncio.gather(*((a if i % 2 else b).dispatcher.handle(m) for i, m in enumerate(inbound)))
    finally:
        await other_db.dispose()
    counts = sorted(int(r[0].text.split(":")[0]) for r in results)
    assert counts == list(range(2, 18))
    async with db.session() as s:
        conv = (await s.execute(select(Conversation))).scalar_one()
    assert conv.state["n"] == 17


async def test_same_delivery_twice_is_processed_once(db):
    handler = CountingHandler()
    services = make_services(db, handler=handler)
    first = await services.dispatcher.handle(Inbound("rest", "dup", "你好", "m-1"))
    second = await services.dispatcher.handle(Inbound("rest", "dup", "你好", "m-1"))
    concurrent = await asyncio.gather(*(services.dispatcher.handle(Inbound("rest", "dup", "again", "m-2")) for _ in range(3)))
    assert first == second
    assert first[0].text == "1:你好"
    assert all(r == concurrent[0] for r in concurrent) and concurrent[0][0].text == "2:again"
    inbound, out = await _replies_by_inbound(db)
    assert len(inbound) == 2 and len(out) == 2


class ExplodingHandler:
    async def handle(self, turn: Turn) -> None:
        turn.conversation.state = {"touched": True}
        if "boom" in turn.text:
            raise RuntimeError("flow broke")
        turn.say("ok")


async def test_exception_in_handler_gets_apology_and_server_keeps_serving(db, caplog):
    services = make_services(db, handler=ExplodingHandler())
    async with running(services) as client:
        with caplog.at_level(logging.ERROR, logger="xiangzhu.dispatcher"):
            bad = await client.post(WEBHOOK, json={"sender": "e", "message": "boom", "metadata": {"message_id": "bad-1"}})
        good = await client.post(WEBHOOK, json={"sender": "e", "message": "hello"})
        repeat = await client.post(WEBHOOK, json={"sender": "e", "message": "boom", "metadata": {"message_id": "bad-1"}})
    assert bad.status_code == 200
    assert bad.json()[0]["text"].startswith("抱歉，出了点问题")
    assert good.status_code == 200 and good.json()[0]["text"] == "ok"
    assert repeat.json() == bad.json()  # the failed message is stored: not processed again
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert any("bad-1" in r.getMessage() and r.exc_info for r in errors)
    assert services.metrics.handler_errors == 1
    async with db.session() as s:
        intents = (await s.execute(select(Message.channel_message_id, Message.intent)
                                   .where(Message.direction == "in").order_by(Message.id))).all()
    assert intents[0] == ("bad-1", "error")


class BlockingHandler:
    def __init__(self):
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, turn: Turn) -> None:
        self.entered.set()
        await self.release.wait()
        turn.say(f"done {turn.text}")


async def test_flood_past_the_queue_limit_gets_a_polite_reply(db):
    handler = BlockingHandler()
    services = make_services(db, handler=handler, settings_overrides={"person_queue_limit": 2})
    services.channels.register(RestAdapter())  # answers in the response: the busy reply needs no row
    d = services.dispatcher
    first = asyncio.create_task(d.handle(Inbound("rest", "f", "one", "f1")))
    await asyncio.wait_for(handler.entered.wait(), 10)
    second = asyncio.create_task(d.handle(Inbound("rest", "f", "two", "f2")))
    await eventually(lambda: d.lanes._lanes.get(("rest", "f"), [None, 0])[1] == 2)
    busy = await d.handle(Inbound("rest", "f", "three", "f3"))
    assert [o.text for o in busy] == ["消息太多了，请稍等一下再发。"]
    handler.release.set()
    assert [o.text for o in await first] == ["done one"]
    assert [o.text for o in await second] == ["done two"]
    async with db.session() as s:
        stored = (await s.execute(select(Message.channel_message_id).where(Message.direction == "in"))).scalars().all()
    assert sorted(stored) == ["f1", "f2"]  # the cut-off message was not processed
    assert len(d.lanes) == 0


async def test_human_mode_relays_to_the_claiming_workers_messenger(db):
    services = make_services(db)
    await services.dispatcher.handle(Inbound("rest", "villager", "你好", "v1", display_name="王大妈"))
    async with db.session() as s:
        person = (await s.execute(select(Person).where(Person.display_name == "王大妈"))).scalar_one()
        staff = Staff(username="li", display_name="李社工")
        worker_person = Person(display_name="李社工")
        s.add_all([staff, worker_person])
        await s.flush()
        s.add(ChannelIdentity(channel="telegram", external_id="tg-42", person_id=worker_person.id, staff_id=staff.id))
        s.add(Handoff(person_id=person.id, status="claimed", claimed_by_staff_id=staff.id))
        conv = (await s.execute(select(Conversation).where(Conversation.person_id == person.id))).scalar_one()
        conv.mode = "human"
    replies = await services.dispatcher.handle(Inbound("rest", "villager", "屋顶又漏了", "v2"))
    assert replies == []
    async with db.session() as s:
        relay = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "relay"))).scalar_one()
        stored = (await s.execute(select(Message).where(Message.channel_message_id == "v2"))).scalar_one()
    assert (relay.channel, relay.recipient, relay.staff_id, relay.status) == ("telegram", "tg-42", staff.id, "pending")
    assert "屋顶又漏了" in relay.text and "王大妈" in relay.text
    assert stored.text == "屋顶又漏了"
    # a repeated delivery of the relayed message does not relay it twice, and answers nothing
    assert await services.dispatcher.handle(Inbound("rest", "villager", "屋顶又漏了", "v2")) == []
    async with db.session() as s:
        assert len((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "relay"))).all()) == 1


class Recording:
    def __init__(self):
        self.turns: list[Turn] = []

    async def handle(self, turn: Turn) -> None:
        self.turns.append(turn)
        turn.say("seen")


class Alarm:
    def __init__(self, is_emergency):
        self.is_emergency = is_emergency


async def test_emergency_detector_forces_the_emergency_intent(db):
    handler = Recording()
    services = make_services(db, handler=handler, emergency_detector=lambda text: Alarm("火" in text))
    await services.dispatcher.handle(Inbound("rest", "x", "家里着火了", "e1"))
    await services.dispatcher.handle(Inbound("rest", "x", "你好", "e2"))
    fire, hello = handler.turns
    assert fire.emergency is not None and fire.parse["intent"] == {"name": "emergency", "confidence": 1.0}
    assert hello.emergency is None and hello.parse["intent"]["name"] == "greet"


class LexiconNLU(StandinNLU):
    """A parse that, like the built-in NLU's, already holds the detector's verdict."""

    def parse(self, text, now=None):
        found = detect(text)
        return {**super().parse(text, now), "emergency": {"level": found.level, "kinds": found.kinds, "score": found.score}}


async def test_the_default_detector_runs_once_when_the_parse_holds_its_verdict(db, monkeypatch):
    import nlu.emergency

    calls = []
    scan = nlu.emergency.detect_normalized
    monkeypatch.setattr(nlu.emergency, "detect_normalized", lambda norm: calls.append(norm) or scan(norm))
    handler = Recording()
    services = make_services(db, handler=handler, emergency_detector=detect)
    services.nlu = LexiconNLU()
    await services.dispatcher.handle(Inbound("rest", "y", "家里着火了", "o1"))
    [fire] = handler.turns
    assert fire.emergency is not None and fire.parse["intent"]["name"] == "emergency"
    assert len(calls) == 1  # in the parse only, not again in the dispatcher

    services.nlu = StandinNLU()  # a parse without the verdict (as Rasa's): the dispatcher runs it
    await services.dispatcher.handle(Inbound("rest", "y", "家里着火了", "o2"))
    assert len(calls) == 2 and handler.turns[1].emergency is not None


class Offering(Recording):
    """Shows two choices on the first message (as the second of two replies), then "seen"."""

    async def handle(self, turn: Turn) -> None:
        self.turns.append(turn)
        if len(self.turns) == 1:
            turn.say("你好")
            turn.say("选一个", [Button("甲", "/a"), Button("乙", "/b")])
        else:
            turn.say("seen")


async def test_turn_gets_the_services_clock_and_a_number_or_title_picks_the_last_choices(db):
    fixed = datetime(2026, 3, 1, 2, 30, tzinfo=timezone.utc)
    handler = Offering()
    services = make_services(db, handler=handler, clock=lambda: fixed)
    await services.dispatcher.handle(Inbound("rest", "n", "你好", "c0"))
    async with db.session() as s:  # the conversation keeps the choices it showed
        conv = (await s.execute(select(Conversation))).scalar_one()
    assert conv.state["shown"] == [["甲", "/a"], ["乙", "/b"]]
    await services.dispatcher.handle(Inbound("rest", "n", "②", "c1"))
    turn = handler.turns[1]
    assert turn.now == fixed and turn.payload == "/b"
    async with db.session() as s:
        msg = (await s.execute(select(Message).where(Message.channel_message_id == "c1"))).scalar_one()
        conv = (await s.execute(select(Conversation))).scalar_one()
    assert msg.created_at == fixed
    assert "shown" not in conv.state  # "seen" showed no choices: a number now is just a number
    await services.dispatcher.handle(Inbound("rest", "n", "1", "c2"))
    assert handler.turns[2].payload == ""


async def test_bad_input_over_rest(db):
    handler = Recording()
    services = make_services(db, handler=handler)
    async with running(services) as client:
        long = await client.post(WEBHOOK, json={"sender": "b", "message": "长" * 5000, "metadata": {"message_id": "long"}})
        empty = await client.post(WEBHOOK, json={"sender": "b", "message": "  \n\t ", "metadata": {"message_id": "empty"}})
        control = await client.post(WEBHOOK, json={"sender": "b", "message": "你\x00好\x07\u200b", "metadata": {"message_id": "ctl"}})
        surrogate = await client.post(WEBHOOK, content=b'{"sender": "b", "message": "a\\ud800b", "metadata": {"message_id": "sur"}}',
                                      headers={"content-type": "application/json"})
        invalid = await client.post(WEBHOOK, content=b'{"sender": "b", "message": "x\xff\xfey", "metadata": {"message_id": "utf"}}',
                                    headers={"content-type": "application/json"})
    assert [r.status_code for r in (long, empty, control, surrogate, invalid)] == [200] * 5
    assert "4000" in long.json()[0]["text"] and long.json()[1]["text"] == "seen"
    assert len(empty.json()) == 1 and "没有收到文字" in empty.json()[0]["text"]
    async with db.session() as s:
        texts = dict((await s.execute(select(Message.channel_message_id, Message.text)
                                      .where(Message.direction == "in"))).all())
    assert len(texts["long"]) == 4000
    assert texts["empty"] == ""
    assert texts["ctl"] == "你好"
    assert texts["sur"] == "ab"
    assert texts["utf"] == "xy"
    # the handler saw the cleaned text, and never the empty message
    assert [t.text for t in handler.turns] == ["长" * 4000, "你好", "ab", "xy"]
