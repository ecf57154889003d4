"""Messages in and out. The unique (channel, channel_message_id) makes a repeated delivery of
one inbound message a no-op: `record_inbound` answers None for it, and `stored_replies`
gives back what the first delivery answered. The caller owns the transaction."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import driver
from storage.models import Message, OutboxMessage, utcnow

__all__ = ["INBOUND_COLUMNS", "find_inbound", "inbound_row", "insert_inbound", "insert_outbound", "outbound",
           "recent_history", "recent_lines", "record_inbound", "record_outbound", "store_inbound", "stored_replies"]


# the hot-path INSERTs run on the driver (storage/driver.py)
_INSERT_INBOUND = driver.Insert(Message.__table__, on_conflict=("channel", "channel_message_id"), returning="id")
_INSERT = driver.Insert(Message.__table__)


def insert_inbound(cur: driver.Cursor, *, channel: str, channel_message_id: str, person_id: int | None, text: str,
                   attachments: list | None = None, intent: str = "", now: datetime | None = None) -> int | None:
    """On a driver cursor: `record_inbound`."""
    return store_inbound(cur, person_id, inbound_row(channel=channel, channel_message_id=channel_message_id,
                                                     text=text, attachments=attachments, intent=intent, now=now))


def store_inbound(cur: driver.Cursor, person_id: int | None, row: dict) -> int | None:
    """On a driver cursor: the message `inbound_row` gave, from the person; its id, or None
    for a repeated delivery."""
    rows = cur.insert(_INSERT_INBOUND, [{**row, "person_id": person_id}])
    return rows[0][0] if rows else None


def inbound_row(*, channel: str, channel_message_id: str, text: str, attachments: list | None = None,
                intent: str = "", now: datetime | None = None) -> dict:
    """An inbound message's columns but `person_id` (INBOUND_COLUMNS, in that order)."""
    return {"channel": channel, "channel_message_id": channel_message_id, "direction": "in", "text": text,
            "attachments": attachments or [], "intent": intent[:32], "created_at": now or utcnow()}


INBOUND_COLUMNS = ("channel", "channel_message_id", "direction", "text", "attachments", "intent", "created_at")


async def record_inbound(
    session: AsyncSession,
    *,
    channel: str,
    channel_message_id: str,
    person_id: int | None,
    text: str,
    attachments: list | None = None,
    intent: str = "",
    now: datetime | None = None,
) -> int | None:
    """Insert an inbound message; its id, or None when (channel, channel_message_id) was
    already stored (a repeated delivery). On PostgreSQL a concurrent insert of the same id
    waits for the first transaction and then answers None."""
    return await driver.run(
        session, lambda cur: insert_inbound(
            cur, channel=channel, channel_message_id=channel_message_id, person_id=person_id, text=text,
            attachments=attachments, intent=intent, now=now,
        ),
    )


def insert_outbound(cur: driver.Cursor, *, channel: str, person_id: int | None, messages: list[tuple],
                    now: datetime) -> None:
    """On a driver cursor: several outbound messages [(text, attachments[, flow_step])] in one
    INSERT (a turn's replies; flow_step "flow_id:step_id" is the step that said it)."""
    cur.write(outbound(channel=channel, person_id=person_id, messages=messages, now=now))


def outbound(*, channel: str, person_id: int | None, messages: list[tuple], now: datetime) -> driver.Write:
    """`insert_outbound` as one of several writes (`driver.Cursor.write`)."""
    return _INSERT.of(
        {"channel": channel, "person_id": person_id, "direction": "out", "text": m[0],
         "attachments": m[1] or [], "flow_step": (m[2] if len(m) > 2 else None) or None, "created_at": now}
        for m in messages
    )


async def find_inbound(session: AsyncSession, channel: str, channel_message_id: str) -> Message | None:
    return (
        await session.execute(
            select(Message).where(
                Message.channel == channel,
                Message.channel_message_id == channel_message_id,
                Message.direction == "in",
            )
        )
    ).scalar_one_or_none()


async def inbound_id(session: AsyncSession, channel: str, channel_message_id: str) -> int | None:
    """The id of a stored inbound message, by the channel's own message id."""
    return (
        await session.execute(
            select(Message.id).where(Message.channel == channel, Message.channel_message_id == channel_message_id,
                                     Message.direction == "in")
        )
    ).scalar_one_or_none()


async def record_outbound(
    session: AsyncSession,
    *,
    channel: str,
    person_id: int | None,
    text: str,
    attachments: list | None = None,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> Message:
    msg = Message(
        channel=channel,
        person_id=person_id,
        direction="out",
        text=text,
        attachments=attachments or [],
        staff_id=staff_id,
        created_at=now or utcnow(),
    )
    session.add(msg)
    return msg


async def stored_replies(session: AsyncSession, inbound_message_id: int) -> list[OutboxMessage]:
    """The outbox rows written in answer to one inbound message, in order."""
    return list(
        (
            await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.inbound_message_id == inbound_message_id)
                .order_by(OutboxMessage.id)
            )
        ).scalars()
    )


_RECENT_LINES = (  # built once: its cache key is memoized
    select(Message.direction, Message.text)
    .where(Message.person_id == bindparam("person_id"))
    .order_by(Message.created_at.desc(), Message.id.desc())
    .limit(bindparam("limit", type_=Integer()))
)


_RECENT_LINES_Q = driver.Query(_RECENT_LINES)


class Line(NamedTuple):
    direction: str
    text: str


async def recent_lines(session: AsyncSession, person_id: int, limit: int = 20) -> list[Line]:
    """`recent_history` as (direction, text) rows only, oldest first: for a handoff's
    summary, which reads nothing else (no Message objects to build); on the driver."""
    return await driver.run(session, read_recent_lines, person_id, limit)


def read_recent_lines(cur: driver.Cursor, person_id: int, limit: int) -> list[Line]:
    """`recent_lines` on a driver cursor, with the caller's other statements."""
    return [Line(*row) for row in reversed(cur.rows(_RECENT_LINES_Q, person_id=person_id, limit=limit))]


async def recent_history(session: AsyncSession, person_id: int, limit: int = 20) -> list[Message]:
    """The person's last `limit` messages in both directions, oldest first (for handoff
    summaries and the worker's view)."""
    rows = (
        await session.execute(
            select(Message)
            .where(Message.person_id == person_id)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit)
        )
    ).scalars()
    return list(reversed(list(rows)))
