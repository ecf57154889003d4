"""The outbox: messages decided inside a transaction and sent after it commits.

Life of a row: `pending` → `sending` (claimed by one sender) → `sent` | back to `pending`
with a later `next_attempt_at` (retry) | `held` | `failed` (given up). `held` rows wait for
something outside the sender (e.g. WeChat's 48-hour reply window: the person writing again
releases them, `release_held`) and keep their place in line; a held row is tried again on its
own once its `next_attempt_at` has passed.

Order per recipient: a sender claims a row only when no older row of the same (channel,
recipient) is `pending`, `sending` or `held` — so message n+1 never leaves before message n
was sent (or given up). On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so several
processes drain one outbox without waiting on each other and without reordering a person's
messages; on SQLite there is one process and BEGIN IMMEDIATE.

Channels that answer in the HTTP response (REST, console) store their replies as `sent` with
delivery `response`; later REST messages stay `pending` until a client polls past them.
The caller owns the transaction.

A session that wrote a row for the sender (`pending`: not one answered in the response) says
so, `queued_for_sender(session)`, so its caller wakes the sender after committing — and only
then: waking it costs a transaction and a claim.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import Integer, bindparam, event, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, object_session
from sqlalchemy.orm.attributes import set_committed_value

from storage import driver
from storage.models import OutboxMessage, utcnow

__all__ = [
    "UNSENT",
    "backlog",
    "claim_heads",
    "enqueue",
    "insert_rows",
    "rows_write",
    "note_queued",
    "queued_for_sender",
    "last_buttons",
    "claim_response",
    "claimed_row",
    "mark_failed",
    "mark_held",
    "mark_read_through",
    "mark_retry",
    "mark_sent",
    "mark_sent_many",
    "poll",
    "release_held",
    "release_responses",
    "release_stale",
    "set_delivery",
]

UNSENT = ("pending", "sending", "held")
_QUEUED = "outbox_queued"  # Session.info key: this session wrote a row for the sender


def queued_for_sender(session: AsyncSession) -> bool:
    """Did this session write an outbox row the sender is to send (so far, committed or not)?"""
    return bool(session.info.get(_QUEUED))


@event.listens_for(OutboxMessage, "after_insert")
def _noted(mapper, connection, row: OutboxMessage) -> None:
    # every ORM insert (enqueue, storage/notify.py); the driver's go through insert_rows
    if row.status != "sent":
        session = object_session(row)
        if session is not None:
            session.info[_QUEUED] = True


async def enqueue(
    session: AsyncSession,
    *,
    channel: str,
    recipient: str,
    text: str,
    buttons: Iterable[dict] = (),
    attachments: Iterable[dict] = (),
    person_id: int | None = None,
    staff_id: int | None = None,
    inbound_message_id: int | None = None,
    kind: str = "reply",
    status: str = "pending",
    delivery: str = "",
    now: datetime | None = None,
) -> OutboxMessage:
    now = now or utcnow()
    row = OutboxMessage(
        channel=channel,
        recipient=recipient,
        text=text,
        buttons=list(buttons),
        attachments=list(attachments),
        person_id=person_id,
        staff_id=staff_id,
        inbound_message_id=inbound_message_id,
        kind=kind,
        status=status,
        delivery=delivery,
        next_attempt_at=now,
        created_at=now,
        sent_at=now if status == "sent" else None,
    )
    session.add(row)
    return row


_INSERT = driver.Insert(OutboxMessage.__table__)
_OUTBOX = OutboxMessage.__table__
_LAST_BUTTONS = driver.Query(
    select(_OUTBOX.c.buttons)
    .where(_OUTBOX.c.channel == bindparam("channel"), _OUTBOX.c.recipient == bindparam("recipient"))
    .order_by(_OUTBOX.c.id.desc()).limit(1)
)


def insert_rows(cur: driver.Cursor, rows: list[dict], now: datetime) -> None:
    """On a driver cursor: several rows in one INSERT (a turn's replies); each dict takes
    `enqueue`'s keyword arguments. The caller notes rows for the sender on its session
    (`note_queued`)."""
    cur.write(rows_write(rows, now))


def rows_write(rows: list[dict], now: datetime) -> driver.Write:
    """`insert_rows` as one of several writes (`driver.Cursor.write`)."""
    values = []
    for r in rows:
        status = r.get("status", "pending")
        values.append({
            "channel": r["channel"], "recipient": r["recipient"], "text": r["text"],
            "buttons": list(r.get("buttons", ())), "attachments": list(r.get("attachments", ())),
            "person_id": r.get("person_id"), "staff_id": r.get("staff_id"),
            "inbound_message_id": r.get("inbound_message_id"), "kind": r.get("kind", "reply"),
            "status": status, "delivery": r.get("delivery", ""), "next_attempt_at": now, "created_at": now,
            "sent_at": now if status == "sent" else None,
        })
    return _INSERT.of(values)


def note_queued(session: AsyncSession, rows: list[dict]) -> None:
    """After `insert_rows(…, rows, …)` in this session: note the rows for the sender."""
    if any(r.get("status", "pending") != "sent" for r in rows):
        session.info[_QUEUED] = True


def last_buttons(cur: driver.Cursor, channel: str, recipient: str) -> list:
    """On a driver cursor: the choices of the last message to the recipient ([] if none)."""
    row = cur.one(_LAST_BUTTONS, channel=channel, recipient=recipient)
    return (row[0] or []) if row else []


def _claim_statement(dialect_name: str, limit: int):
    """The due heads: each recipient's oldest unsent row, if due. Built once per dialect and
    limit, its values bound (`now`, `channels`), so SQLAlchemy memoizes its cache key."""
    older = aliased(OutboxMessage)
    older_unsent = (
        exists()
        .where(
            older.channel == OutboxMessage.channel,
            older.recipient == OutboxMessage.recipient,
            older.id < OutboxMessage.id,
            older.status.in_(UNSENT),
        )
        .correlate(OutboxMessage)
    )
    stmt = (
        select(OutboxMessage)
        .where(
            OutboxMessage.status.in_(("pending", "held")),
            OutboxMessage.next_attempt_at <= bindparam("now"),
            OutboxMessage.channel.in_(bindparam("channels", expanding=True)),
            ~older_unsent,
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if dialect_name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
    return stmt


_claim_statements: dict[tuple[str, int], object] = {}


async def claim_heads(
    session: AsyncSession, *, channels: Iterable[str], worker: str, now: datetime, limit: int = 100
) -> list[OutboxMessage]:
    """Claim up to `limit` due rows, at most one per recipient: each the oldest unsent row of
    its recipient. Claimed rows become `sending` with one more attempt counted."""
    channels = list(channels)
    if not channels:
        return []
    key = (session.bind.dialect.name, limit)
    stmt = _claim_statements.get(key)
    if stmt is None:
        stmt = _claim_statements[key] = _claim_statement(*key)
    rows = list((await session.execute(stmt, {"now": now, "channels": channels})).scalars())
    for row in rows:
        row.status = "sending"
        row.claimed_by = worker
        row.claimed_at = now
        row.attempts = (row.attempts or 0) + 1
    await session.flush()
    return rows


async def mark_sent(session: AsyncSession, row_id: int, now: datetime, delivery: str = "") -> None:
    values = {"status": "sent", "sent_at": now, "error": ""}
    if delivery:
        values["delivery"] = delivery
    await session.execute(update(OutboxMessage).where(OutboxMessage.id == row_id).values(**values))


_MARK_SENT = (update(OutboxMessage.__table__)  # Core, built once: the sender's batch in one statement
              .where(OutboxMessage.__table__.c.id.in_(bindparam("row_ids", expanding=True)))
              .values(status="sent", sent_at=bindparam("sent_now"), error=""))


async def mark_sent_many(session: AsyncSession, row_ids: list[int], now: datetime) -> None:
    """`mark_sent` for several rows (without a delivery), in one statement."""
    if row_ids:
        await session.execute(_MARK_SENT, {"row_ids": row_ids, "sent_now": now})


_ROWS = OutboxMessage.__table__
# Core UPDATEs of one row, built once (an ORM-enabled UPDATE built per call cost about 1.5 M
# instructions): a failed send's retry, hold or failure
_MARK_RETRY = update(_ROWS).where(_ROWS.c.id == bindparam("row_id")).values(
    status="pending", next_attempt_at=bindparam("next_at"), error=bindparam("error_text"), claimed_by=None)
_MARK_HELD = update(_ROWS).where(_ROWS.c.id == bindparam("row_id")).values(
    status="held", delivery="held", next_attempt_at=bindparam("next_at"), error=bindparam("error_text"),
    claimed_by=None)
_MARK_FAILED = update(_ROWS).where(_ROWS.c.id == bindparam("row_id")).values(
    status="failed", error=bindparam("error_text"))


async def mark_retry(session: AsyncSession, row_id: int, next_attempt_at: datetime, error: str) -> None:
    await session.execute(_MARK_RETRY, {"row_id": row_id, "next_at": next_attempt_at, "error_text": error[:2000]})


async def mark_held(session: AsyncSession, row_id: int, until: datetime, error: str) -> None:
    """The channel may not deliver the row now: it waits, `held`, until `release_held` or
    `until` (then it is tried again)."""
    await session.execute(_MARK_HELD, {"row_id": row_id, "next_at": until, "error_text": error[:2000]})


_RELEASE_HELD = update(_ROWS).where(  # built once: a WeChat message from the recipient runs it
    _ROWS.c.channel == bindparam("channel_name"), _ROWS.c.recipient == bindparam("recipient_id"),
    _ROWS.c.status == "held",
).values(status="pending", delivery="", next_attempt_at=bindparam("next_at"), attempts=0, error="", claimed_by=None)


async def release_held(session: AsyncSession, *, channel: str, recipient: str, now: datetime) -> int:
    """The recipient can be reached again: their held rows go out now, in order. Returns how many."""
    result = await session.execute(_RELEASE_HELD, {"channel_name": channel, "recipient_id": recipient, "next_at": now})
    return result.rowcount or 0


_CLAIMED_ROW = (select(_ROWS.c.id)
                .where(_ROWS.c.channel == bindparam("channel_name"), _ROWS.c.recipient == bindparam("recipient_id"),
                       _ROWS.c.status == "sending", _ROWS.c.claimed_by == bindparam("worker"))
                .order_by(_ROWS.c.id).limit(1))
_SET_DELIVERY = update(_ROWS).where(_ROWS.c.id == bindparam("row_id")).values(delivery=bindparam("how"))


async def claimed_row(session: AsyncSession, *, channel: str, recipient: str, worker: str) -> int | None:
    """The id of the row `worker` is sending now to the recipient (one per recipient), if any."""
    return (await session.execute(
        _CLAIMED_ROW, {"channel_name": channel, "recipient_id": recipient, "worker": worker})).scalar_one_or_none()


async def set_delivery(session: AsyncSession, row_id: int, delivery: str) -> None:
    """How the channel delivered the row (e.g. WeChat: custom | template)."""
    await session.execute(_SET_DELIVERY, {"row_id": row_id, "how": delivery})


_FIRST_REPLY = (select(OutboxMessage)  # built once, as _TAKE_PASSIVE: every WeChat passive reply runs both
                .where(OutboxMessage.inbound_message_id == bindparam("inbound_id"),
                       OutboxMessage.channel == bindparam("channel_name"))
                .order_by(OutboxMessage.id).limit(1))
_TAKE_PASSIVE = update(_ROWS).where(
    _ROWS.c.id == bindparam("row_id"), _ROWS.c.status == "sent", _ROWS.c.delivery.in_(("response", "passive")),
).values(delivery="passive", sent_at=bindparam("sent_now"))


async def claim_response(session: AsyncSession, *, channel: str, inbound_message_id: int, now: datetime
                         ) -> OutboxMessage | None:
    """For a channel that may answer in the HTTP response of a retried delivery (WeChat's
    passive reply): the first reply row of the inbound message, if it is still reserved for
    the response (delivery `response`) or already went out in one (`passive`); it becomes
    `passive`. A conditional UPDATE: safe across processes and retries."""
    first = (await session.execute(
        _FIRST_REPLY, {"inbound_id": inbound_message_id, "channel_name": channel})).scalar_one_or_none()
    if first is None:
        return None
    won = await session.execute(_TAKE_PASSIVE, {"row_id": first.id, "sent_now": now})
    if won.rowcount != 1:
        return None
    set_committed_value(first, "delivery", "passive")  # the row as written (a Core UPDATE leaves it)
    set_committed_value(first, "sent_at", now)
    return first


_RELEASE_RESPONSES: dict[tuple[bool, bool], object] = {}  # by (one message?, older than?), built once


def _release_responses_statement(one_message: bool, older: bool):
    where = [_ROWS.c.channel == bindparam("channel_name"), _ROWS.c.status == "sent", _ROWS.c.delivery == "response"]
    if one_message:
        where.append(_ROWS.c.inbound_message_id == bindparam("inbound_id"))
    if older:
        where.append(_ROWS.c.created_at < bindparam("older_than", type_=_ROWS.c.created_at.type))
    return update(_ROWS).where(*where).values(
        status="pending", delivery="", sent_at=None, next_attempt_at=bindparam("next_at"), claimed_by=None)


async def release_responses(session: AsyncSession, *, channel: str, now: datetime,
                            inbound_message_id: int | None = None, older_than: datetime | None = None) -> int:
    """Rows still reserved for an HTTP response go to the sender (`pending`): those of one
    inbound message, or all of the channel's reserved before `older_than`. Returns how many.
    (A Core UPDATE: rows this session loaded are not refreshed.)"""
    key = (inbound_message_id is not None, older_than is not None)
    stmt = _RELEASE_RESPONSES.get(key)
    if stmt is None:
        stmt = _RELEASE_RESPONSES[key] = _release_responses_statement(*key)
    params = {"channel_name": channel, "next_at": now}
    if inbound_message_id is not None:
        params["inbound_id"] = inbound_message_id
    if older_than is not None:
        params["older_than"] = older_than
    result = await session.execute(stmt, params)
    return result.rowcount or 0


async def mark_failed(session: AsyncSession, row_id: int, error: str) -> None:
    await session.execute(_MARK_FAILED, {"row_id": row_id, "error_text": error[:2000]})


_RELEASE_STALE = update(_ROWS).where(_ROWS.c.status == "sending", _ROWS.c.claimed_at < bindparam("before")).values(
    status="pending", claimed_by=None, next_attempt_at=bindparam("next_at"))


async def release_stale(session: AsyncSession, *, now: datetime, lease: timedelta) -> int:
    """Rows left `sending` by a process that died: back to `pending` (they may go out twice —
    at least once). Returns how many."""
    result = await session.execute(_RELEASE_STALE, {"before": now - lease, "next_at": now})
    return result.rowcount or 0


_POLL = (  # built once, as the sender's statements: a polling client asks every few seconds
    select(OutboxMessage)
    .where(
        OutboxMessage.channel == bindparam("channel_name"),
        OutboxMessage.recipient == bindparam("recipient_id"),
        OutboxMessage.id > bindparam("after_id"),
        OutboxMessage.delivery != "response",
        OutboxMessage.status != "failed",
    )
    .order_by(OutboxMessage.id)
    .limit(bindparam("max_rows", type_=Integer()))
)
_READ_THROUGH = update(_ROWS).where(
    _ROWS.c.channel == bindparam("channel_name"), _ROWS.c.recipient == bindparam("recipient_id"),
    _ROWS.c.id <= bindparam("upto_id"), _ROWS.c.status.in_(("pending", "held")),
).values(status="sent", sent_at=bindparam("sent_now"), delivery="poll")


async def poll(
    session: AsyncSession, *, channel: str, recipient: str, after: int, limit: int = 100
) -> list[OutboxMessage]:
    """Later messages for a polling client: rows after the cursor that did not already go
    out in an HTTP response."""
    params = {"channel_name": channel, "recipient_id": recipient, "after_id": after, "max_rows": limit}
    return list((await session.execute(_POLL, params)).scalars())


async def mark_read_through(session: AsyncSession, *, channel: str, recipient: str, upto: int, now: datetime) -> int:
    """A polling client asked for messages after `upto`: everything up to it has arrived.
    (A Core UPDATE: rows this session loaded are not refreshed; the poll reads after `upto`.)"""
    result = await session.execute(
        _READ_THROUGH, {"channel_name": channel, "recipient_id": recipient, "upto_id": upto, "sent_now": now})
    return result.rowcount or 0


async def backlog(session: AsyncSession) -> dict[str, int]:
    """Unsent rows per channel (pending, sending or held)."""
    rows = await session.execute(
        select(OutboxMessage.channel, func.count())
        .where(OutboxMessage.status.in_(UNSENT))
        .group_by(OutboxMessage.channel)
    )
    return {channel: n for channel, n in rows}
