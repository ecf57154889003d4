"""The channel store (bot/channel_store.py): what a channel may ask of storage, on SQLite and
PostgreSQL. The WeChat and Telegram tests drive it through the channels; here its outbox verbs
alone, with the outbox sender's own claim (storage.outbox.claim_heads)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.channel_store import ChannelStore
from storage import outbox as outbox_store
from storage.models import OutboxMessage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)


async def _rows(db, *texts, recipient="u1", **kw) -> list[int]:
    async with db.session() as s:
        rows = [await outbox_store.enqueue(s, channel="fake", recipient=recipient, text=t, now=NOW, **kw) for t in texts]
        await s.flush()
        return [r.id for r in rows]


async def _claim(db, now) -> list[str]:
    async with db.session() as s:
        return [r.text for r in await outbox_store.claim_heads(s, channels=["fake"], worker="w", now=now)]


async def _status(db, row_id) -> tuple[str, str]:
    async with db.session() as s:
        row = await s.get(OutboxMessage, row_id)
        return row.status, row.delivery


async def test_a_held_row_keeps_its_place_until_released_then_goes_first(db):
    store = ChannelStore(db)
    held, later = await _rows(db, "first", "second")
    assert await _claim(db, NOW) == ["first"]
    async with db.session() as s:
        await outbox_store.mark_held(s, held, NOW + timedelta(days=3), "outside the window")
    assert await _status(db, held) == ("held", "held")
    assert await _claim(db, NOW + timedelta(hours=1)) == []  # held, and "second" waits behind it
    assert await store.release_held("fake", "u1", NOW + timedelta(hours=2)) == 1
    assert await _status(db, held) == ("pending", "")
    assert await _claim(db, NOW + timedelta(hours=2)) == ["first"]
    assert await _status(db, later) == ("pending", "")


async def test_a_held_row_is_tried_again_when_its_time_has_come(db):
    [held] = await _rows(db, "reminder")
    await _claim(db, NOW)
    async with db.session() as s:
        await outbox_store.mark_held(s, held, NOW + timedelta(days=3), "outside the window")
    assert await _claim(db, NOW + timedelta(days=2)) == []
    assert await _claim(db, NOW + timedelta(days=3)) == ["reminder"]


async def test_release_held_touches_only_that_recipient(db):
    store = ChannelStore(db)
    [mine] = await _rows(db, "mine", recipient="u1")
    [theirs] = await _rows(db, "theirs", recipient="u2")
    await _claim(db, NOW)
    async with db.session() as s:
        for row_id in (mine, theirs):
            await outbox_store.mark_held(s, row_id, NOW + timedelta(days=3), "outside the window")
    assert await store.release_held("fake", "u1", NOW) == 1
    assert (await _status(db, mine))[0] == "pending" and (await _status(db, theirs))[0] == "held"


async def test_responses_are_released_once_nobody_waits(db):
    store = ChannelStore(db)
    reserved = await _rows(db, "a", "b", status="sent", delivery="response")
    assert await store.release_responses("fake", NOW + timedelta(minutes=2), older_than=NOW + timedelta(minutes=1)) == 2
    assert [await _status(db, r) for r in reserved] == [("pending", ""), ("pending", "")]
    assert await store.release_responses("fake", NOW, older_than=NOW + timedelta(minutes=1)) == 0


async def test_poll_hands_later_rows_and_counts_what_arrived(db):
    store = ChannelStore(db)
    first, second = await _rows(db, "one", "two")
    arrived, rows = await store.poll("fake", "u1", after=0, now=NOW)
    assert (arrived, [r.text for r in rows]) == (0, ["one", "two"])
    arrived, rows = await store.poll("fake", "u1", after=first, now=NOW)
    assert (arrived, [r.text for r in rows]) == (1, ["two"])
    assert await _status(db, first) == ("sent", "poll")


async def test_state_round_trips_and_unavailable_knows_a_connection_error(db):
    store = ChannelStore(db)
    assert await store.state("fake:offset") is None
    await store.set_state("fake:offset", {"offset": 42})
    assert await store.state("fake:offset") == {"offset": 42}
    assert ChannelStore.unavailable(ConnectionRefusedError()) and not ChannelStore.unavailable(ValueError())


async def test_take_response_carries_the_first_reply_once_per_delivery_and_frees_the_rest(db):
    from storage import messages

    store = ChannelStore(db)
    async with db.session() as s:
        inbound = await messages.record_inbound(s, channel="fake", channel_message_id="m1", person_id=None,
                                                text="你好", now=NOW)
        rows = [await outbox_store.enqueue(s, channel="fake", recipient="u1", text=t, buttons=b, status="sent",
                                           delivery="response", inbound_message_id=inbound, now=NOW)
                for t, b in (("", [{"title": "是", "payload": "choice:yes"}]), ("second", []))]
        await s.flush()
        first, second = (r.id for r in rows)
    assert (await store.take_response("fake", "unknown", NOW)).stored is False
    claim = await store.take_response("fake", "m1", NOW)
    # the first reply has only a button: the response still carries it
    assert (claim.stored, claim.claimed, claim.text, claim.released) == (True, True, "", 1)
    assert claim.buttons == ({"title": "是", "payload": "choice:yes"},)
    assert await _status(db, first) == ("sent", "passive") and await _status(db, second) == ("pending", "")
    again = await store.take_response("fake", "m1", NOW)  # WeChat retried: the retry carries it again
    assert (again.claimed, again.released) == (True, 0)
