"""Messages the system starts (not replies): written to the outbox in the caller's
transaction, to the messenger account a person or staff member used last."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from vocab.messages import Button
from storage.models import ChannelIdentity, Message, OutboxMessage, Person


async def best_identity(session: AsyncSession, *, person_id: int | None = None, staff_id: int | None = None
                        ) -> ChannelIdentity | None:
    q = select(ChannelIdentity).where(ChannelIdentity.unreachable.is_(False))
    q = q.where(ChannelIdentity.staff_id == staff_id) if staff_id is not None else q.where(
        ChannelIdentity.person_id == person_id)
    q = q.order_by(ChannelIdentity.last_inbound_at.desc().nulls_last(), ChannelIdentity.id.desc())
    return (await session.execute(q.limit(1))).scalars().first()


_STAFF_IDENTITIES = (  # built once: read for every offer
    select(ChannelIdentity)
    .where(ChannelIdentity.unreachable.is_(False), ChannelIdentity.staff_id.in_(bindparam("staff_ids", expanding=True)))
    .order_by(ChannelIdentity.last_inbound_at.desc().nulls_last(), ChannelIdentity.id.desc())
)


async def best_staff_identities(session: AsyncSession, staff_ids: list[int]) -> dict[int, ChannelIdentity]:
    """`best_identity` of several staff members in one statement: staff id → identity (none
    for those without a reachable messenger)."""
    if not staff_ids:
        return {}
    found: dict[int, ChannelIdentity] = {}
    for identity in (await session.execute(_STAFF_IDENTITIES, {"staff_ids": sorted(set(staff_ids))})).scalars():
        found.setdefault(identity.staff_id, identity)  # the first in best_identity's order
    return found


def _row(identity: ChannelIdentity, text: str, buttons, kind: str, person_id, staff_id) -> OutboxMessage:
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
                       kind: str = "page", now: datetime | None = None, identity: ChannelIdentity | None = None
                       ) -> OutboxMessage | None:
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
