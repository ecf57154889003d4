"""The outbox sender, on SQLite and PostgreSQL.

`FakeMessenger` is a test double standing in for a messenger's API (no real messenger can run
here): it records what it was asked to send and fails on command, the way a messenger answers
with rate limits, bad requests or a blocked user.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.base import ChannelAdapter, PermanentSendError, RecipientUnreachable, RetryableSendError
from vocab.messages import Inbound, Outbound
from storage import outbox as outbox_store
from storage import people
from storage.db import Database
from storage.models import ChannelIdentity, OutboxMessage
from tests.bot.pipeline_helpers import eventually, make_services


class FakeMessenger(ChannelAdapter):
    name = "fake"
    rate_per_second = 1000.0
    burst = 50
    per_recipient_per_second = 1000.0

    def __init__(self):
        self.sent: list[Outbound] = []
        self.failures: dict[str, list[Exception]] = {}  # text -> exceptions to raise, in turn
        self.calls = 0

    async def send(self, out: Outbound) -> None:
        self.calls += 1
        queue = self.failures.get(out.text)
        if queue:
            raise queue.pop(0)
        self.sent.append(out)


async def _enqueue(db, items):
    async with db.session() as s:
        rows = [await outbox_store.enqueue(s, channel="fake", recipient=r, text=t) for r, t in items]
        await s.flush()
        return [row.id for row in rows]


async def _rows(db):
    async with db.session() as s:
        return {r.text: r for r in (await s.execute(select(OutboxMessage))).scalars()}


async def test_per_recipient_order_with_retries_and_backoff(db):
    fake = FakeMessenger()
    fake.failures["a2"] = [RetryableSendError("429"), RetryableSendError("timeout")]
    services = make_services(db)
    services.channels.register(fake)
    await _enqueue(db, [("A", "a1"), ("A", "a2"), ("B", "b1"), ("A", "a3"), ("B", "b2"), ("A", "a4")])
    await services.start()
    try:
        await eventually(lambda: len(fake.sent) == 6)
    finally:
        await services.stop()
    assert [o.text for o in fake.sent if o.recipient == "A"] == ["a1", "a2", "a3", "a4"]
    assert [o.text for o in fake.sent if o.recipient == "B"] == ["b1", "b2"]
    rows = await _rows(db)
    assert {t: r.status for t, r in rows.items()} == dict.fromkeys(rows, "sent")
    assert all(r.sent_at is not None and r.error == "" for r in rows.values())  # a2's errors cleared
    assert rows["a2"].attempts == 3 and rows["a1"].attempts == 1
    assert services.metrics.messages_out["fake"] == 6


async def test_backoff_grows_and_has_jitter(db):
    services = make_services(db, sender_options={"backoff_base": 1.0, "backoff_cap": 60.0})
    sender = services.outbox
    for attempts, top in [(1, 1.0), (2, 2.0), (3, 4.0), (8, 60.0)]:
        delays = {sender.backoff(attempts) for _ in range(20)}
        assert all(top / 2 <= d <= top for d in delays)
        assert len(delays) > 1


async def test_permanent_failure_is_given_up_and_the_next_message_goes(db):
    fake = FakeMessenger()
    fake.failures["bad"] = [PermanentSendError("400 bad request")]
    services = make_services(db)
    services.channels.register(fake)
    await _enqueue(db, [("A", "bad"), ("A", "next")])
    await services.start()
    try:
        await eventually(lambda: [o.text for o in fake.sent] == ["next"])
    finally:
        await services.stop()
    rows = await _rows(db)
    assert (rows["bad"].status, rows["bad"].attempts) == ("failed", 1)
    assert "400" in rows["bad"].error


async def test_too_many_retries_fail_the_message(db):
    fake = FakeMessenger()
    fake.failures["never"] = [RuntimeError("network down")] * 10
    services = make_services(db, sender_options={"max_attempts": 3, "poll_seconds": 0.02,
                                                  "backoff_base": 0.01, "backoff_cap": 0.02})
    services.channels.register(fake)
    await _enqueue(db, [("A", "never")])
    await services.start()
    try:
        await eventually(lambda: _status(db, "never", "failed"))
    finally:
        await services.stop()
    assert fake.calls == 3


async def _status(db, text, status):
    return (await _rows(db))[text].status == status


async def test_unreachable_recipient_is_marked(db):
    fake = FakeMessenger()
    fake.failures["hi"] = [RecipientUnreachable("403 blocked by user")]
    services = make_services(db)
    services.channels.register(fake)
    async with db.session() as s:
        await people.find_or_create_by_identity(s, "fake", "A")
    await _enqueue(db, [("A", "hi")])
    await services.start()
    try:
        await eventually(lambda: _status(db, "hi", "failed"))
    finally:
        await services.stop()
    async with db.session() as s:
        identity = (await s.execute(select(ChannelIdentity))).scalar_one()
    assert identity.unreachable is True


async def test_rows_left_in_flight_by_a_dead_sender_are_sent_again(db):
    fake = FakeMessenger()
    services = make_services(db, sender_options={"lease": timedelta(seconds=30), "poll_seconds": 0.02})
    services.channels.register(fake)
    await _enqueue(db, [("A", "stuck"), ("A", "after")])
    now = services.clock()
    async with db.session() as s:  # a sender claimed "stuck" long ago and died
        rows = await outbox_store.claim_heads(s, channels=["fake"], worker="dead", now=now)
        for row in rows:
            row.claimed_at = now - timedelta(minutes=5)
    assert [r.text for r in rows] == ["stuck"]
    await services.start()
    try:
        await eventually(lambda: len(fake.sent) == 2)
    finally:
        await services.stop()
    assert [o.text for o in fake.sent] == ["stuck", "after"]


async def test_channels_that_do_not_push_are_left_for_polling(db):
    class Polled(FakeMessenger):
        name = "polled"
        pushes = False

    polled = Polled()
    services = make_services(db)
    services.channels.register(polled)
    async with db.session() as s:
        await outbox_store.enqueue(s, channel="polled", recipient="A", text="wait for me")
    assert await services.outbox.run_once() == 0
    assert polled.calls == 0


async def test_two_claimers_on_postgresql_never_take_one_recipients_next_row(db_url):
    """Two engines stand for two processes. While one holds the head row of a recipient
    (claimed, not yet committed), the other skips it and must not take the recipient's next
    row; it still takes other recipients' rows."""
    if not db_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED claims are a PostgreSQL matter; SQLite has one process")
    a, b = Database(db_url), Database(db_url)
    try:
        await _enqueue(a, [("A", "a1"), ("A", "a2"), ("B", "b1")])
        services = make_services(a)
        now = services.clock()
        async with a.session() as sa:
            first = await outbox_store.claim_heads(sa, channels=["fake"], worker="p1", now=now, limit=1)
            assert [r.text for r in first] == ["a1"]
            async with b.session() as sb:
                second = await outbox_store.claim_heads(sb, channels=["fake"], worker="p2", now=now)
            assert [r.text for r in second] == ["b1"]
        async with b.session() as sb:  # a1 is now "sending": a2 still waits
            assert await outbox_store.claim_heads(sb, channels=["fake"], worker="p2", now=now) == []
    finally:
        await a.dispose()
        await b.dispose()


async def test_a_turn_wakes_the_sender_only_when_it_queued_a_row_for_it(db):
    """Each wake costs the sender a transaction and a claim: a message answered in the HTTP
    response queues nothing for it; one on a pushing messenger does, and is sent."""

    class Answering(FakeMessenger):
        name = "answering"
        replies_in_response = True

    fake, answering = FakeMessenger(), Answering()
    services = make_services(db, sender_options={"poll_seconds": 3600.0})  # only wakes send
    services.channels.register(fake)
    services.channels.register(answering)
    wakes = []
    wake = services.outbox.wake
    services.outbox.wake = lambda: (wakes.append(1), wake())
    await services.start()
    try:
        replies = await services.dispatcher.handle(Inbound("answering", "A", "你好", "m-1"))
        assert replies and wakes == []
        assert fake.calls == 0 and answering.calls == 0
        await services.dispatcher.handle(Inbound("fake", "B", "你好", "m-2"))
        assert wakes == [1]
        await eventually(lambda: len(fake.sent) == len(replies))
    finally:
        await services.stop()
    assert answering.calls == 0
    assert {r.status for r in (await _rows(db)).values()} == {"sent"}


async def test_a_session_says_whether_it_queued_a_row_for_the_sender(db):
    async with db.session() as s:
        await outbox_store.enqueue(s, channel="rest", recipient="A", text="in the response", status="sent")
        await s.flush()
        assert not outbox_store.queued_for_sender(s)
        await outbox_store.enqueue(s, channel="fake", recipient="A", text="to push")
        await s.flush()
        assert outbox_store.queued_for_sender(s)
    async with db.session() as s:
        assert not outbox_store.queued_for_sender(s)
