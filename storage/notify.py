"""Messages the system starts (not replies): written to the outbox in the caller's
transaction, to the messenger account a person or staff member used last."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from vocab.messages import Button
from storage import driver
from storage.models import ChannelIdentity, Message, OutboxMessage, Person


async def best_identity(session: AsyncSession, *, person_id: int | None = None, staff_id: int | None = None
                        ) -> ChannelIdentity | None:
    q = select(ChannelIdentity).where(ChannelIdentity.unreachable.is_(False))
    q = q.where(ChannelIdentity.staff_id == staff_id) if staff_id is not None else q.where(
        ChannelIdentity.person_id == person_id)
    q = q.order_by(ChannelIdentity.last_inbound_at.desc().nulls_last(), ChannelIdentity.id.desc())
    return (await session.execute(q.limit(1))).scalars().first()


class StaffMessenger(NamedTuple):
    """What an offer needs of a staff member's channel identity (read as columns, not as an
    ORM object: an offer reads them for every worker it reaches)."""
    id: int
    staff_id: int
    person_id: int | None
    channel: str
    external_id: str


_I = ChannelIdentity.__table__
_staff_messengers: dict[int, driver.Query] = {}  # by how many staff ids: built once each


def _staff_messengers_query(count: int) -> driver.Query:
    query = _staff_messengers.get(count)
    if query is None:
        query = _staff_messengers[count] = driver.Query(
            select(_I.c.id, _I.c.staff_id, _I.c.person_id, _I.c.channel, _I.c.external_id)
            .where(_I.c.unreachable.is_(False), _I.c.staff_id.in_([bindparam(f"s{i}") for i in range(count)]))
            .order_by(_I.c.last_inbound_at.desc().nulls_last(), _I.c.id.desc()))
    return query


def _read_staff_messengers(cur: driver.Cursor, staff_ids: list[int]) -> dict[int, StaffMessenger]:
    found: dict[int, StaffMessenger] = {}
    query = _staff_messengers_query(len(staff_ids))
    for row in cur.rows(query, **{f"s{i}": sid for i, sid in enumerate(staff_ids)}):
        found.setdefault(row[1], StaffMessenger(*row))  # the first in best_identity's order
    return found


async def best_staff_identities(session: AsyncSession, staff_ids: list[int]) -> dict[int, StaffMessenger]:
    """`best_identity` of several staff members in one statement: staff id → identity (none
    for those without a reachable messenger)."""
    if not staff_ids:
        return {}
    return await driver.run(session, _read_staff_messengers, sorted(set(staff_ids)))


def _row(identity: ChannelIdentity | StaffMessenger, text: str, buttons, kind: str, person_id, staff_id) -> OutboxMessage:
    return OutboxMessage(
        channel=identity.channel, recipient=identity.external_id, person_id=person_id, staff_id=staff_id,
        kind=kind, text=text, buttons=[{"title": b.title, "payload": b.payload} for b in buttons],
    )


async def notify_person(session: AsyncSession, person_id: int, text: str, *, buttons: tuple[Button, ...] = (),
                        kind: str = "notice", respect_opt_out: bool = False) -> OutboxMessage | None:
    """Queue a message to a villager. Reminders and broadcasts pass respect_opt_out=True;
    answers about their own case are sent even to people who opted out of broadcasts."""
    person = await session.get(Person, person_id)
    if person is None or person.erased or (respect_opt_out and person.opted_out):
        return None
    identity = await best_identity(session, person_id=person_id)
    if identity is None:
        return None
    row = _row(identity, text, buttons, kind, person_id, None)
    session.add(row)
    session.add(Message(person_id=person_id, channel=identity.channel, direction="out", text=text))
    await session.flush()
    return row


async def notify_staff(session: AsyncSession, staff_id: int, text: str, *, buttons: tuple[Button, ...] = (),
                       kind: str = "page", now: datetime | None = None,
                       identity: ChannelIdentity | StaffMessenger | None = None) -> OutboxMessage | None:
    """Queue a message to a staff member's linked messenger, if they linked one (due `now`,
    default the database's clock; `identity`: their `best_identity`, when the caller has just
    read it)."""
    if identity is None:
        identity = await best_identity(session, staff_id=staff_id)
    if identity is None:
        return None
    row = _row(identity, text, buttons, kind, identity.person_id, staff_id)
    if now is not None:
        row.next_attempt_at = row.created_at = now
    session.add(row)
    await session.flush()
    return row
