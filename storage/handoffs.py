"""Handoffs: a villager talks to a human social worker through the bot.

While a handoff is open the person's conversation is in `human` mode and the dispatcher
relays their messages; a worker claims it (exactly one wins), answers, transfers or closes.
"""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage import audit
from storage.areas import ancestors
from storage.models import Conversation, Handoff, Message, Person, Staff, StaffArea, utcnow
from storage.notify import notify_person, notify_staff

OPEN = ("waiting", "claimed")
TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_DUTY = {"days": [1, 2, 3, 4, 5], "start": "08:30", "end": "17:30"}


class HandoffError(StorageError, ValueError):
    pass


def on_duty(staff: Staff, now: datetime) -> bool:
    """Whether `now` falls in the staff member's duty hours (Asia/Shanghai, ISO weekdays)."""
    duty = staff.on_duty or DEFAULT_DUTY
    local = now.astimezone(TZ)
    if duty.get("always"):
        return True
    if local.isoweekday() not in duty.get("days", DEFAULT_DUTY["days"]):
        return False
    start = time.fromisoformat(duty.get("start", DEFAULT_DUTY["start"]))
    end = time.fromisoformat(duty.get("end", DEFAULT_DUTY["end"]))
    return start <= local.time() < end


async def _set_mode(session: AsyncSession, person_id: int, mode: str) -> None:
    await session.execute(update(Conversation).where(Conversation.person_id == person_id).values(mode=mode))


async def open_handoff_for(session: AsyncSession, person_id: int) -> Handoff | None:
    return (await session.execute(
        select(Handoff).where(Handoff.person_id == person_id, Handoff.status.in_(OPEN)).order_by(Handoff.id.desc())
    )).scalars().first()


async def open_handoff(session: AsyncSession, person_id: int, *, reason: str = "request",
                       priority: str = "normal", summary: str = "", village_id: int | None = None,
                       case_id: int | None = None, attachments: list | None = None,
                       now: datetime | None = None) -> tuple[Handoff, bool]:
    """Open a handoff, or return the one already open (raised to urgent if this one is).
    Returns (handoff, created)."""
    now = now or utcnow()
    existing = await open_handoff_for(session, person_id)
    if existing is not None:
        if priority == "urgent" and existing.priority != "urgent":
            existing.priority, existing.reason = "urgent", reason
        if summary:
            existing.summary = (existing.summary + "\n" + summary).strip()
        await _set_mode(session, person_id, "human")
        return existing, False
    if village_id is None:
        person = await session.get(Person, person_id)
        village_id = person.village_id if person else None
    handoff = Handoff(person_id=person_id, reason=reason, priority=priority, summary=summary,
                      village_id=village_id, case_id=case_id, attachments=attachments or [], created_at=now)
    session.add(handoff)
    await session.flush()
    await _set_mode(session, person_id, "human")
    await audit.record(session, f"person:{person_id}", "handoff.open", f"handoff:{handoff.id}",
                       {"reason": reason, "priority": priority})
    return handoff, True


async def staff_for_area(session: AsyncSession, village_id: int | None) -> list[Staff]:
    """Active workers and supervisors whose areas cover the village (or all, if unknown)."""
    staff = list((await session.execute(select(Staff).where(Staff.active.is_(True)))).scalars())
    staff = [s for s in staff if {"worker", "supervisor"} & set(s.roles or [])]
    if village_id is None:
        return staff
    covering = {a.id for a in await ancestors(session, village_id)}
    rows = (await session.execute(select(StaffArea))).scalars()
    by_staff: dict[int, set[int]] = {}
    for r in rows:
        by_staff.setdefault(r.staff_id, set()).add(r.area_id)
    return [s for s in staff if by_staff.get(s.id, set()) & covering]


async def page_staff(session: AsyncSession, handoff: Handoff, text: str, *, now: datetime,
                     everyone_on_duty: bool = False) -> list[int]:
    """Notify staff of a handoff: everyone on duty (emergencies) or the area's staff on duty.
    Returns the ids of staff paged. With nobody on duty, the area's supervisors are paged."""
    candidates = await (staff_for_area(session, None if everyone_on_duty else handoff.village_id))
    paged = [s for s in candidates if on_duty(s, now)]
    if not paged:
        paged = [s for s in candidates if "supervisor" in (s.roles or [])]
    for s in paged:
        await notify_staff(session, s.id, text, kind="page")
    return [s.id for s in paged]


async def claim_handoff(session: AsyncSession, handoff_id: int, staff_id: int, *, now: datetime | None = None
                        ) -> bool:
    """Exactly one of several claimers wins (a conditional UPDATE)."""
    now = now or utcnow()
    result = await session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="claimed", claimed_by_staff_id=staff_id, claimed_at=now)
    )
    if result.rowcount != 1:
        return False
    handoff = await session.get(Handoff, handoff_id)
    await session.refresh(handoff)
    await audit.record(session, f"staff:{staff_id}", "handoff.claim", f"handoff:{handoff_id}")
    staff = await session.get(Staff, staff_id)
    person = await session.get(Person, handoff.person_id)
    name = staff.display_name or staff.username
    text = (f"Social worker {name} is here and will answer you now." if person and person.locale == "en"
            else f"社工{name}来了，会在这里回复您。")
    await notify_person(session, handoff.person_id, text, kind="relay")
    return True


async def relay_to_villager(session: AsyncSession, handoff: Handoff, staff_id: int, text: str, *,
                            now: datetime | None = None) -> None:
    """A worker's answer, sent to the villager through the outbox."""
    if handoff.status != "claimed" or handoff.claimed_by_staff_id != staff_id:
        raise HandoffError("只有认领了这个转人工的社工才能回复 / only the worker who claimed this handoff can answer")
    await notify_person(session, handoff.person_id, text, kind="relay")
    row = (await session.execute(
        select(Message).where(Message.person_id == handoff.person_id, Message.direction == "out")
        .order_by(Message.id.desc()).limit(1))).scalars().first()
    if row is not None:
        row.staff_id = staff_id


async def transfer_handoff(session: AsyncSession, handoff: Handoff, to_staff_id: int | None, *,
                           by_staff_id: int | None = None) -> None:
    """Give the handoff to another worker, or back to the queue (`to_staff_id=None`)."""
    if handoff.status == "closed":
        raise HandoffError("这个转人工已经结束 / this handoff is closed")
    handoff.claimed_by_staff_id = to_staff_id
    handoff.status = "claimed" if to_staff_id else "waiting"
    await audit.record(session, f"staff:{by_staff_id}" if by_staff_id else "system", "handoff.transfer",
                       f"handoff:{handoff.id}", {"to": to_staff_id})
    if to_staff_id:
        await notify_staff(session, to_staff_id, f"转给您一个求助（#{handoff.id}）/ A handoff was transferred to you (#{handoff.id})")


async def close_handoff(session: AsyncSession, handoff: Handoff, *, outcome: str = "", by_staff_id: int | None = None,
                        now: datetime | None = None) -> None:
    now = now or utcnow()
    if handoff.status == "closed":
        return
    handoff.status, handoff.outcome, handoff.closed_at = "closed", outcome, now
    await _set_mode(session, handoff.person_id, "bot")
    await audit.record(session, f"staff:{by_staff_id}" if by_staff_id else "system", "handoff.close",
                       f"handoff:{handoff.id}")
    person = await session.get(Person, handoff.person_id)
    text = ("The social worker has finished this conversation. Reply anything to talk to the bot again."
            if person and person.locale == "en" else "社工这次的对话结束了。有事再发消息给我就行。")
    await notify_person(session, handoff.person_id, text, kind="relay")


async def list_handoffs(session: AsyncSession, *, status: str | None = None, village_ids: set[int] | None = None,
                        limit: int = 200, visible: ColumnElement[bool] | None = None) -> list[Handoff]:
    """Open ones (or those in `status`), urgent first; `visible` is the caller's access filter."""
    q = select(Handoff) if visible is None else select(Handoff).where(visible)
    if status:
        q = q.where(Handoff.status == status)
    else:
        q = q.where(Handoff.status.in_(OPEN))
    if village_ids is not None:
        q = q.where(Handoff.village_id.in_(village_ids))
    # urgent first, then oldest first
    q = q.order_by((Handoff.priority != "urgent"), Handoff.created_at).limit(limit)
    return list((await session.execute(q)).scalars())


async def reassign_open_handoffs(session: AsyncSession, from_staff_id: int, to_staff_id: int) -> int:
    result = await session.execute(
        update(Handoff).where(Handoff.claimed_by_staff_id == from_staff_id, Handoff.status == "claimed")
        .values(claimed_by_staff_id=to_staff_id))
    return result.rowcount or 0
