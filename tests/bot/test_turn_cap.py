"""The cap on turns running at once and the REST webhook's 503 when far behind, through the
app's REST webhook, on SQLite and PostgreSQL (bot/turn_gate.py, docs/performance.md)."""
from __future__ import annotations

import asyncio
import collections

from sqlalchemy import select

from flows.turn import Turn
from storage.models import Message, OutboxMessage
from tests.bot.pipeline_helpers import eventually, make_services, running
from bot.turn_gate import TurnGate
from tests.standin import StandinNLU
from vocab.messages import Inbound

WEBHOOK = "/webhooks/rest/webhook"


class HeldHandler:
    """Every turn waits in the handler until the test lets them all go."""

    def __init__(self):
        self.order: list[str] = []
        self.release = asyncio.Event()

    async def handle(self, turn: Turn) -> None:
        self.order.append(turn.text)
        await self.release.wait()
        turn.say(f"done {turn.text}")


class SteppedHandler:
    """Each turn waits in the handler until the test lets that text go."""

    def __init__(self):
        self.order: list[str] = []
        self.go: dict[str, asyncio.Event] = collections.defaultdict(asyncio.Event)

    async def handle(self, turn: Turn) -> None:
        self.order.append(turn.text)
        await self.go[turn.text].wait()
        turn.say(f"done {turn.text}")


class CountingNLU(StandinNLU):
    def __init__(self):
        super().__init__()
        self.parsed: list[str] = []

    def parse(self, text, now=None):
        self.parsed.append(text)
        return super().parse(text, now)


def _body(sender: str, text: str) -> dict:
    return {"sender": sender, "message": text, "metadata": {"message_id": f"id-{text}"}}


async def _stored(db) -> tuple[list[str], dict[str, list[str]]]:
    async with db.session() as s:
        inbound = (await s.execute(select(Message.id, Message.text).where(Message.direction == "in")
                                   .order_by(Message.id))).all()
        out = (await s.execute(select(OutboxMessage.inbound_message_id, OutboxMessage.text))).all()
    texts = {i: t for i, t in inbound}
    replies: dict[str, list[str]] = {}
    for message_id, text in out:
        replies.setdefault(texts[message_id], []).append(text)
    return [t for _, t in inbound], replies


async def test_turns_past_the_cap_wait_in_line_and_far_behind_a_new_rest_message_gets_503(db):
    handler = HeldHandler()
    nlu = CountingNLU()
    services = make_services(db, handler=handler, settings_overrides={"max_turns": 2, "max_queue_seconds": 5})
    services.nlu = nlu
    gate = services.dispatcher.gate
    now = [1000.0]
    gate.clock = lambda: now[0]  # the queue's age is the test's to move
    async with running(services) as client:
        post = lambda sender, text: asyncio.create_task(client.post(WEBHOOK, json=_body(sender, text)))  # noqa: E731
        running_turns = [post("a", "one"), post("b", "two")]
        await eventually(lambda: gate.running == 2 and handler.order)
        queued = [post("c", "three"), post("d", "four")]
        await eventually(lambda: gate.waiting == 2)
        # waiting in line: not parsed, not stored, not in the handler
        assert sorted(nlu.parsed) == ["one", "two"]
        assert "three" not in handler.order and "four" not in handler.order
        # a message arriving now would wait less than 5 s: taken, and it queues too
        taken_late = post("e", "five")
        await eventually(lambda: gate.waiting == 3)

        now[0] += 6  # the oldest waiting message has waited 6 s: far behind
        refused = await client.post(WEBHOOK, json=_body("f", "six"))
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "6"
        assert refused.json()["error"] == "服务器繁忙，消息未收下，请稍后重发 / server busy, message not taken, send it again later"
        assert services.metrics.refusals == {"rest": 1}
        assert "six" not in nlu.parsed
        # a caller that cannot be answered "retry later" (WeChat, Telegram, the console) queues
        console = asyncio.create_task(services.dispatcher.handle(Inbound("console", "g", "seven", "id-seven")))
        await eventually(lambda: gate.waiting == 4)

        handler.release.set()
        answered = await asyncio.gather(*running_turns, *queued, taken_late)
        assert [r.status_code for r in answered] == [200] * 5
        assert [r.json()[0]["text"] for r in answered] == ["done one", "done two", "done three", "done four", "done five"]
        assert [o.text for o in await console] == ["done seven"]
        # (the order of the line: the next test, one turn at a time)
        assert gate.running == 0 and gate.waiting == 0

        stored, replies = await _stored(db)
        assert sorted(stored) == ["five", "four", "one", "seven", "three", "two"]  # the refused one is not
        assert all(replies[t] == [f"done {t}"] for t in stored)

        # the client sends the refused message again: now it is taken, once
        again = await client.post(WEBHOOK, json=_body("f", "six"))
        assert again.status_code == 200 and again.json()[0]["text"] == "done six"
        repeat = await client.post(WEBHOOK, json=_body("f", "six"))
        assert repeat.json() == again.json()
    stored, replies = await _stored(db)
    assert stored.count("six") == 1 and replies["six"] == ["done six"]


async def test_one_turn_at_a_time_in_order_of_arrival_and_with_max_queue_seconds_zero_never_refused(db):
    handler = SteppedHandler()
    services = make_services(db, handler=handler, settings_overrides={"max_turns": 1, "max_queue_seconds": 0})
    gate, lanes = services.dispatcher.gate, services.dispatcher.lanes
    now = [0.0]
    gate.clock = lambda: now[0]
    async with running(services) as client:
        def post(sender: str, text: str, at: float):
            now[0] = at
            return asyncio.create_task(client.post(WEBHOOK, json=_body(sender, text)))

        tasks = [post("a", "one", 1)]
        await eventually(lambda: handler.order)
        tasks.append(post("b", "two", 2))
        await eventually(lambda: gate.waiting == 1)
        tasks.append(post("a", "three", 3))  # waits behind "one" in its sender's lane, not yet in line
        await eventually(lambda: lanes._lanes.get(("rest", "a"), [None, 0])[1] == 2)
        tasks.append(post("c", "four", 4))
        await eventually(lambda: gate.waiting == 2)
        tasks.append(post("d", "five", 3600))  # an hour behind: still taken
        await eventually(lambda: gate.waiting == 3)
        handler.go["one"].set()
        await eventually(lambda: handler.order == ["one", "two"] and gate.waiting == 3)
        # "three" left its lane and took its place by arrival: before "four", which came later
        assert [arrived for arrived, _ in gate._waiting] == [3, 4, 3600]
        for text in ("two", "three", "four", "five"):
            handler.go[text].set()
        answered = await asyncio.gather(*tasks)
    assert [r.status_code for r in answered] == [200] * 5
    assert handler.order == ["one", "two", "three", "four", "five"]  # one at a time, first come first served
    stored, _ = await _stored(db)
    assert sorted(stored) == ["five", "four", "one", "three", "two"]


async def test_the_expected_wait_is_the_oldest_wait_or_the_line_at_the_recent_pace():
    now = [0.0]
    gate = TurnGate(1, clock=lambda: now[0])
    done = {}

    async def turn(name: str) -> None:
        async with gate:
            done[name] = asyncio.Event()
            await done[name].wait()

    tasks = [asyncio.create_task(turn(n)) for n in "abcd"]
    await eventually(lambda: "a" in done and gate.waiting == 3)
    assert gate.expected_wait() == 0.0  # nothing has waited yet, no pace known
    for name, at in (("a", 1.0), ("b", 2.0)):  # a turn finishes every second
        now[0] = at
        done[name].set()
        await eventually(lambda: chr(ord(name) + 1) in done)
    assert gate.pace == 1.0 and gate.waiting == 1
    assert gate.expected_wait() == 2.0  # d has waited 2 s
    tasks += [asyncio.create_task(turn(n)) for n in "efghij"]
    await eventually(lambda: gate.waiting == 7)
    assert gate.expected_wait() == 7.0  # seven in line, one a second
    tasks[-1].cancel()  # a waiting message given up leaves the line
    await eventually(lambda: gate.waiting == 6)
    for name in "cdefghi":
        done[name].set()
        await eventually(lambda: name in done and (gate.waiting == 0 or chr(ord(name) + 1) in done))
    await asyncio.gather(*tasks[:-1])
    assert gate.running == 0 and gate.waiting == 0
