"""People and their channel identities: find or create the person behind a messenger
account, consent, opting out, unreachable identities, and the conversation row that
serialises one person's turns.

The caller owns the transaction. Creation is race-safe on both databases: on SQLite every
transaction is BEGIN IMMEDIATE (one writer), on PostgreSQL the unique constraints decide and a
loser of the race re-reads the winner's rows inside a SAVEPOINT.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelIdentity, Conversation, Person, utcnow

__all__ = [
    "LAST_SEEN_RESOLUTION",
    "find_or_create_by_identity",
    "find_or_create_for_turn",
    "get_conversation_for_update",
    "give_consent",
    "mark_unreachable",
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


async def find_or_create_for_turn(
    session: AsyncSession,
    channel: str,
    external_id: str,
    display_name: str = "",
    locale: str | None = None,
    *,
    now: datetime | None = None,
    lock: bool = True,
) -> tuple[Person, ChannelIdentity, Conversation]:
    """What a turn needs in one statement for a known sender: (person, identity,
    conversation), the conversation row locked as `get_conversation_for_update` does.
    A first contact (or a person without a conversation row) takes the longer way."""
    now = now or utcnow()
    stmt = (
        select(ChannelIdentity, Person, Conversation)
        .join(Person, Person.id == ChannelIdentity.person_id)
        .join(Conversation, Conversation.person_id == Person.id)
        .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == external_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=Conversation)
    row = (await session.execute(stmt)).first()
    if row is None:
        person, identity, _ = await find_or_create_by_identity(
            session, channel, external_id, display_name, locale, now=now
        )
        return person, identity, await get_conversation_for_update(session, person.id, lock=lock)
    identity, person, conversation = row
    _touch(person, identity, display_name, now)
    return person, identity, conversation


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
