"""People and their channel identities: find or create the person behind a messenger
account, consent, opting out, unreachable identities, and the conversation row that
serialises one person's turns.

The caller owns the transaction. Creation is race-safe on both databases: on SQLite every
transaction is BEGIN IMMEDIATE (one writer), on PostgreSQL the unique constraints decide and a
loser of the race re-reads the winner's rows inside a SAVEPOINT.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Conversation, Person, utcnow

__all__ = [
    "LAST_SEEN_RESOLUTION",
    "TurnConversation",
    "find_or_create_by_identity",
    "find_or_create_for_turn",
    "get_conversation_for_update",
    "give_consent",
    "mark_unreachable",
    "save_conversation",
    "set_opted_out",
]


# last-seen times are written when they are older than this: one fewer UPDATE per message
# for a person who is chatting (nothing reads them more precisely: the WeChat reply window is
# 48 hours, the worker's view shows minutes)
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def _stale(value: datetime | None, now: datetime) -> bool:
    if value is None:
        return True
    if (value.tzinfo is None) != (now.tzinfo is None):  # both are UTC; one may come back naive
        value, now = value.replace(tzinfo=None), now.replace(tzinfo=None)
    return now - value >= LAST_SEEN_RESOLUTION or value > now


def _touch(person: Person, identity: ChannelIdentity, display_name: str, now: datetime) -> None:
    if _stale(identity.last_inbound_at, now):
        identity.last_inbound_at = now
    if identity.unreachable:
        identity.unreachable = False  # they wrote to us: reachable again
    if _stale(person.last_seen_at, now):
        person.last_seen_at = now
    if display_name and not person.display_name and not person.erased:
        person.display_name = display_name[:100]


async def _identity_with_person(session: AsyncSession, channel: str, external_id: str):
    row = (
        await session.execute(
            select(ChannelIdentity, Person)
            .join(Person, Person.id == ChannelIdentity.person_id)
            .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def find_or_create_by_identity(
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str = "",
    locale: str | None = None,
    *,
    now: datetime | None = None,
) -> tuple[Person, ChannelIdentity, bool]:
    """The person behind (channel, external_id), created on first contact with an empty
    conversation. Returns (person, identity, created). Updates last-seen times."""
    now = now or utcnow()
    found = await _identity_with_person(session, channel, external_id)
    created = False
    if found is None:
        try:
            async with session.begin_nested():
                person = Person(display_name=display_name[:100], locale=locale or "zh", created_at=now)
                session.add(person)
                await session.flush()
                identity = ChannelIdentity(
                    channel=channel, external_id=external_id, person_id=person.id, created_at=now
                )
                session.add(identity)
                session.add(Conversation(person_id=person.id, updated_at=now))
                await session.flush()
            created = True
            found = (identity, person)
        except IntegrityError:
            # another process created the identity between our read and our insert
            found = await _identity_with_person(session, channel, external_id)
            if found is None:
                raise
    identity, person = found
    _touch(person, identity, display_name, now)
    return person, identity, created


class TurnConversation:
    """The person's conversation row as a plain object for one turn: the flow engine reads
    and sets its attributes like the ORM row's, and `save_conversation` writes back only what
    changed, with one Core UPDATE (no ORM unit of work on the hot path)."""

    FIELDS = ("flow_id", "flow_version_id", "step", "slots", "stack", "mode", "state")
    __slots__ = ("id", "person_id", "updated_at", *FIELDS, "_loaded")

    def __init__(self, id: int, person_id: int, updated_at: datetime | None, **fields: Any):
        self.id, self.person_id, self.updated_at = id, person_id, updated_at
        for name in self.FIELDS:
            setattr(self, name, fields[name])
        self._loaded = {name: _fingerprint(fields[name]) for name in self.FIELDS}

    @classmethod
    def from_orm(cls, conv: Conversation) -> "TurnConversation":
        return cls(conv.id, conv.person_id, conv.updated_at, **{n: getattr(conv, n) for n in cls.FIELDS})

    def changes(self) -> dict[str, Any]:
        """{column: new value} for every field that differs from the row as loaded."""
        return {n: getattr(self, n) for n in self.FIELDS if _fingerprint(getattr(self, n)) != self._loaded[n]}


def _fingerprint(value: Any) -> Any:
    # JSON columns are compared by content (a nested value may have been changed in place)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return value


_CONVERSATIONS = Conversation.__table__
_CONVERSATION_COLUMNS = [_CONVERSATIONS.c[name] for name in ("id", "person_id", "updated_at", *TurnConversation.FIELDS)]
# built once: SQLAlchemy caches the compiled form and the cache key of a statement object
_TURN_ROW = (
    select(ChannelIdentity, Person, *_CONVERSATION_COLUMNS)
    .join(Person, Person.id == ChannelIdentity.person_id)
    .join(_CONVERSATIONS, _CONVERSATIONS.c.person_id == Person.id)
    .where(ChannelIdentity.channel == bindparam("channel"), ChannelIdentity.external_id == bindparam("external_id"))
)
_TURN_ROW_LOCKED = _TURN_ROW.with_for_update(of=_CONVERSATIONS)


def _conversation_from_row(values) -> TurnConversation:
    id_, person_id, updated_at, *fields = values
    return TurnConversation(id_, person_id, updated_at, **dict(zip(TurnConversation.FIELDS, fields)))


async def find_or_create_for_turn(
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str = "",
    locale: str | None = None,
    *,
    now: datetime | None = None,
    lock: bool = True,
) -> tuple[Person, ChannelIdentity, TurnConversation]:
    """What a turn needs in one statement for a known sender: (person, identity,
    conversation), the conversation row locked as `get_conversation_for_update` does. The
    conversation is a `TurnConversation`: write it back with `save_conversation`.
    A first contact (or a person without a conversation row) takes the longer way."""
    now = now or utcnow()
    stmt = _TURN_ROW_LOCKED if lock else _TURN_ROW
    row = (await session.execute(stmt, {"channel": channel, "external_id": external_id})).first()
    if row is None:
        person, identity, _ = await find_or_create_by_identity(
            session, channel, external_id, display_name, locale, now=now
        )
        conversation = await get_conversation_for_update(session, person.id, lock=lock)
        return person, identity, TurnConversation.from_orm(conversation)
    identity, person = row[0], row[1]
    _touch(person, identity, display_name, now)
    return person, identity, _conversation_from_row(row[2:])


async def save_conversation(session: AsyncSession, conversation: TurnConversation) -> None:
    """Write back what the turn changed in the conversation (nothing when nothing did; the
    column's `onupdate` sets `updated_at`). Columns the turn did not change are left alone,
    so a statement that set one of them during the turn (e.g. the handoff mode) stands."""
    changes = conversation.changes()
    if not changes:
        return
    await session.execute(update(_CONVERSATIONS).where(_CONVERSATIONS.c.id == conversation.id).values(**changes))
    conversation._loaded.update((n, _fingerprint(v)) for n, v in changes.items())


async def get_conversation_for_update(session: AsyncSession, person_id: int, lock: bool = True) -> Conversation:
    """The person's conversation row, created if missing. With `lock` on PostgreSQL the row
    stays locked (SELECT … FOR UPDATE) until the transaction ends, so one person's turns run
    one at a time across processes. On SQLite the transaction already holds the write lock."""
    stmt = select(Conversation).where(Conversation.person_id == person_id)
    if lock:
        stmt = stmt.with_for_update()
    conv = (await session.execute(stmt)).scalar_one_or_none()
    if conv is not None:
        return conv
    try:
        async with session.begin_nested():
            conv = Conversation(person_id=person_id)
            session.add(conv)
            await session.flush()
        return conv
    except IntegrityError:
        return (await session.execute(stmt)).scalar_one()


async def give_consent(session: AsyncSession, person_id: int, now: datetime | None = None) -> None:
    await session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(consent_given=True, consent_at=now or utcnow())
        .execution_options(synchronize_session="fetch")
    )


async def set_opted_out(session: AsyncSession, person_id: int, opted_out: bool = True) -> None:
    """Opt out of (or back into) reminders and broadcasts; replies to the person's own
    messages still go out."""
    await session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(opted_out=opted_out)
        .execution_options(synchronize_session="fetch")
    )


async def mark_unreachable(session: AsyncSession, channel: str, external_id: str, unreachable: bool = True) -> None:
    """The messenger says the account blocked the bot or is gone; a later inbound message
    from it clears the flag (see `find_or_create_by_identity`)."""
    await session.execute(
        update(ChannelIdentity)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
        .values(unreachable=unreachable)
        .execution_options(synchronize_session="fetch")
    )
