"""Broadcasts: one message to a segment — a village (and the areas below it), an activity's
participants, or everyone who consented. `create` writes the broadcast, one recipient row
per person and a `broadcast` timer in one transaction; bot/broadcasts.py sends it in
rate-limited batches. `report` counts delivered / failed (the outbox rows' fate), queued,
pending and skipped by reason. The caller owns the transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, timers
from storage.activities import ACTIVE
from storage.areas import area_ids_under, get_by_code
from storage.errors import StorageError
from storage.models import (Activity, Broadcast, BroadcastRecipient, ChannelIdentity, Enrollment, OutboxMessage, Person,
                            utcnow)

SEND = "broadcast"  # the timer that sends the next batch
SKIP_REASONS = ("opted_out", "erased", "no_channel", "outside_window")


class BroadcastError(StorageError, ValueError):
    """A broadcast that cannot be made, in words a person can read."""


async def segment_people(session: AsyncSession, segment: dict) -> tuple[list[int], int | None]:
    """The person ids of a segment, and the area it belongs to (None: everyone / no area)."""
    keys = [k for k in ("village", "activity", "everyone") if segment.get(k) not in (None, "", False)]
    if len(keys) != 1:
        raise BroadcastError("segment: give exactly one of village (an area code), activity (an id) or everyone")
    key = keys[0]
    if key == "village":
        area = await get_by_code(session, str(segment["village"]))
        if area is None:
            raise BroadcastError(f"segment: no area with code {segment['village']!r}")
        ids = await area_ids_under(session, [area.id])
        q = select(Person.id).where(Person.village_id.in_(ids), Person.consent_given.is_(True))
        return list((await session.execute(q.order_by(Person.id))).scalars()), area.id
    if key == "activity":
        activity = await session.get(Activity, int(segment["activity"]))
        if activity is None:
            raise BroadcastError(f"segment: no activity {segment['activity']}")
        q = (select(Enrollment.person_id).where(Enrollment.activity_id == activity.id, Enrollment.status.in_(ACTIVE))
             .distinct())
        return sorted((await session.execute(q)).scalars()), activity.area_id
    q = select(Person.id).where(Person.consent_given.is_(True))
    return list((await session.execute(q.order_by(Person.id))).scalars()), None


async def preview(session: AsyncSession, segment: dict) -> dict:
    """Before sending: {total, will_send, skipped: {opted_out, erased, no_channel}} for the
    segment as it stands (the WeChat window is judged when each person's turn comes)."""
    people, _ = await segment_people(session, segment)
    out = {"total": len(people), "will_send": 0, "skipped": {"opted_out": 0, "erased": 0, "no_channel": 0}}
    if not people:
        return out
    rows = (await session.execute(select(Person.id, Person.erased, Person.opted_out).where(Person.id.in_(people)))).all()
    reachable = set((await session.execute(select(ChannelIdentity.person_id).where(
        ChannelIdentity.person_id.in_(people), ChannelIdentity.unreachable.is_(False)))).scalars())
    for pid, erased, opted_out in rows:
        reason = "erased" if erased else "opted_out" if opted_out else "no_channel" if pid not in reachable else ""
        if reason:
            out["skipped"][reason] += 1
        else:
            out["will_send"] += 1
    return out


async def create(session: AsyncSession, segment: dict, text: dict, *, created_by: str = "system",
                 now: datetime | None = None) -> tuple[Broadcast, int]:
    """Write the broadcast and its recipients; the first batch is due at once. Returns
    (broadcast, recipients)."""
    now = now or utcnow()
    zh, en = str(text.get("zh") or "").strip(), str(text.get("en") or "").strip()
    if not zh:
        raise BroadcastError("text: the Chinese text (zh) is required; en is optional")
    people, _ = await segment_people(session, segment)
    b = Broadcast(segment=dict(segment), text={"zh": zh, "en": en}, created_by=created_by, state="sending",
                  created_at=now)
    session.add(b)
    await session.flush()
    session.add_all([BroadcastRecipient(broadcast_id=b.id, person_id=pid) for pid in people])
    await timers.schedule(session, SEND, now, target=f"broadcast:{b.id}", dedupe_key=f"{SEND}:{b.id}:0")
    await audit.record(session, created_by, "broadcast.create", f"broadcast:{b.id}",
                       {"segment": dict(segment), "recipients": len(people)})
    await session.flush()
    return b, len(people)


async def pending(session: AsyncSession, broadcast_id: int, limit: int) -> list[BroadcastRecipient]:
    return list((await session.execute(
        select(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id,
                                         BroadcastRecipient.status == "pending")
        .order_by(BroadcastRecipient.id).limit(limit))).scalars())


async def report(session: AsyncSession, broadcast_id: int) -> dict:
    """{total, pending, queued, delivered, failed, skipped: {reason: n}}: `queued` is handed to
    the outbox and not yet sent."""
    rows = (await session.execute(
        select(BroadcastRecipient.status, BroadcastRecipient.reason, OutboxMessage.status, func.count())
        .outerjoin(OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id)
        .where(BroadcastRecipient.broadcast_id == broadcast_id)
        .group_by(BroadcastRecipient.status, BroadcastRecipient.reason, OutboxMessage.status))).all()
    out = {"total": 0, "pending": 0, "queued": 0, "delivered": 0, "failed": 0, "skipped": {}}
    for status, reason, sent_status, n in rows:
        out["total"] += n
        if status == "skipped":
            out["skipped"][reason] = out["skipped"].get(reason, 0) + n
        elif status == "pending":
            out["pending"] += n
        elif sent_status == "sent":
            out["delivered"] += n
        elif sent_status == "failed":
            out["failed"] += n
        else:
            out["queued"] += n
    return out


async def listing(session: AsyncSession, limit: int = 100) -> list[Broadcast]:
    return list((await session.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit))).scalars())
