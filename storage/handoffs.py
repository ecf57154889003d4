"""Handoffs: a villager talks to a human social worker through the bot.

    waiting ──claim──▶ claimed ──close──▶ closed
       ▲                  │ transfer (stays claimed, another worker)
       └──release/no reply┘

While a handoff is open the person's conversation is in `human` mode and the dispatcher
relays their messages; a worker claims it (a conditional UPDATE: exactly one claimer wins),
answers, transfers, releases or closes. Priority: emergency > urgent > normal; the queue is
served by priority, then oldest first. Every claim, transfer, note, release and close is
audited. Closing hands the person back to the bot, which asks how it went.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, ColumnElement, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

from storage import audit, driver, people
from storage.errors import StorageError
from storage.messages import read_recent_lines
from storage.models import (
    Area,
    Conversation,
    Handoff,
    HandoffNote,
    Message,
    NeedRequest,
    Person,
    Staff,
    utcnow,
)
from storage.notify import best_staff_identities, notify_person, notify_staff
from storage.routing import scheduled_on_duty, tiers_for
from vocab.masking import mask
from vocab.messages import Button

OPEN = ("waiting", "claimed")
PRIORITIES = ("emergency", "urgent", "normal")
RANK = {p: n for n, p in enumerate(PRIORITIES)}  # 0 = first served
SATISFACTION = {1: "满意", 2: "一般", 3: "不满意"}
SATISFACTION_KEY = "satisfaction_for"  # conversation.state: the handoff whose rating is asked
SATISFACTION_QUESTION = {"zh": "这次帮到您了吗？1 满意 2 一般 3 不满意",
                         "en": "Did this help you? 1 Satisfied 2 So-so 3 Not satisfied"}
SATISFACTION_BUTTONS = {
    "zh": (Button("1 满意", "sat:1"), Button("2 一般", "sat:2"), Button("3 不满意", "sat:3")),
    "en": (Button("1 Satisfied", "sat:1"), Button("2 So-so", "sat:2"), Button("3 Not satisfied", "sat:3")),
}


class HandoffError(StorageError, ValueError):
    pass


def on_duty(staff: Staff, now: datetime) -> bool:
    """Whether `now` falls in the staff member's hours (Asia/Shanghai); kept for callers
    that do not know the configured zone (see storage.routing for duty with overrides)."""
    from zoneinfo import ZoneInfo

    return scheduled_on_duty(staff, now, ZoneInfo("Asia/Shanghai"))


def normal_priority(priority: str | None) -> str:
    return priority if priority in RANK else "normal"


def queue_order():
    """ORDER BY for the queue: emergency, urgent, normal; then oldest first."""
    return (case(RANK, value=Handoff.priority, else_=len(RANK)), Handoff.created_at, Handoff.id)


async def _set_mode(session: AsyncSession, person_id: int, mode: str) -> None:
    await session.execute(update(Conversation).where(Conversation.person_id == person_id).values(mode=mode))


_UNREAD: Any = object()


# statements of every handoff, built once (their cache keys are memoized)
_OPEN_FOR = select(Handoff).where(Handoff.person_id == bindparam("person_id"), Handoff.status.in_(OPEN)).order_by(
    Handoff.id.desc())


class OpenHandoff(NamedTuple):
    id: int
    status: str
    claimed_by_staff_id: int | None


def _open_in_human_mode(dialect_name: str) -> ColumnElement:
    array = func.json_build_array if dialect_name == "postgresql" else func.json_array
    found = (select(array(Handoff.id, Handoff.status, Handoff.claimed_by_staff_id, type_=JSON))
             .where(Handoff.person_id == Person.__table__.c.id, or_(*(Handoff.status == s for s in OPEN)))
             .order_by(Handoff.id.desc()).limit(1).scalar_subquery())
    return case((Conversation.__table__.c.mode == "human", found), else_=None)


# the person's open handoff (the newest), read with the turn's row (storage/turns.py) only
# when the conversation is in human mode, where the relay needs it (bot/desk/relay.py):
# one statement fewer for those turns. Correlated with the row's people and conversations.
OPEN_IN_HUMAN_MODE = driver.Scalar(
    _open_in_human_mode, read=lambda value: OpenHandoff(*value) if value else None)


# IN (…) of fixed values as ORs: the driver runs the compiled text, without "expanding" binds
_OPEN_ID_FOR = driver.Query(select(Handoff.id).where(
    Handoff.person_id == bindparam("person_id"), or_(*(Handoff.status == s for s in OPEN))).order_by(
    Handoff.id.desc()).limit(1))
_INSERT = driver.Insert(Handoff.__table__, returning="id")


async def open_handoff_for(session: AsyncSession, person_id: int) -> Handoff | None:
    return (await session.execute(_OPEN_FOR, {"person_id": person_id})).scalars().first()


async def open_handoff_for_turn(session: AsyncSession, person_id: int) -> Handoff | None:
    """`open_handoff_for` on a turn's path, where most people have none: the id on the driver
    (storage/driver.py), the ORM object only when there is one (from the identity map when
    the session holds it, as the ORM query would give)."""
    found = await driver.run(session, _open_id, person_id)
    return None if found is None else await session.get(Handoff, found)


def _open_id(cur: driver.Cursor, person_id: int) -> int | None:
    row = cur.one(_OPEN_ID_FOR, person_id=person_id)
    return None if row is None else row[0]


def _insert_opened(cur: driver.Cursor, row: dict, audited: dict) -> int:
    handoff_id = cur.insert(_INSERT, [row])[0][0]
    audit.insert(cur, {**audited, "target": f"handoff:{handoff_id}"})
    return handoff_id


async def open_handoff(session: AsyncSession, person_id: int, *, reason: str = "request",
                       priority: str = "normal", summary: str = "", village_id: int | None = None,
                       case_id: int | None = None, attachments: list | None = None,
                       now: datetime | None = None, existing: Handoff | None = _UNREAD,
                       person_village: int | None = _UNREAD, set_mode: bool = True) -> tuple[Handoff, bool]:
    """Open a handoff, or return the one already open (raised to this priority if higher).
    The village is the person's, else `village_id` (one they named), else none.
    `existing`: `open_handoff_for(session, person_id)`, and `person_village`: the person's
    village, when the caller has just read them. `set_mode=False`: the caller puts the
    conversation in human mode itself (a turn writes its conversation row at its end).
    Returns (handoff, created)."""
    now = now or utcnow()
    priority = normal_priority(priority)
    if existing is _UNREAD:
        existing = await open_handoff_for(session, person_id)
    if existing is not None:
        if RANK[priority] < RANK.get(existing.priority, 2):
            existing.priority, existing.reason = priority, reason
        if summary:
            existing.summary = (existing.summary + "\n" + summary).strip()
        if set_mode:
            await _set_mode(session, person_id, "human")
        return existing, False
    if person_village is _UNREAD:
        person_village = (await session.execute(select(Person.village_id).where(Person.id == person_id))).scalar()
    if person_village is not None:
        village_id = person_village
    # the row and its audit entry in one call on the driver, then the ORM object attached as
    # loaded (no unit-of-work flush of its own); later changes to it are flushed as usual
    row = _INSERT.whole_row(dict(person_id=person_id, reason=reason, priority=priority, summary=summary,
                                 village_id=village_id, case_id=case_id, attachments=attachments or [],
                                 created_at=now))
    audited = {"actor": f"person:{person_id}", "action": "handoff.open", "data": {"reason": reason, "priority": priority}}
    handoff = Handoff(id=await driver.run(session, _insert_opened, row, audited), **row)
    make_transient_to_detached(handoff)
    session.add(handoff)
    if set_mode:
        await _set_mode(session, person_id, "human")
    return handoff, True


async def staff_for_area(session: AsyncSession, village_id: int | None) -> list[Staff]:
    """Active workers and supervisors whose areas cover the village (or all, if unknown)."""
    tiers = await tiers_for(session, village_id)
    found = [s for tier in (tiers.village, tiers.township) for s in tier] if village_id is not None else [
        s for tier in tiers.ordered() for s in tier]
    return [s for s in found if {"worker", "supervisor"} & set(s.roles or [])]


async def page_staff(session: AsyncSession, handoff: Handoff, text: str, *, now: datetime,
                     everyone_on_duty: bool = False) -> list[int]:
    """Notify staff of a handoff: everyone on duty (emergencies) or the area's staff on duty.
    Returns the ids of staff paged. With nobody on duty, the area's supervisors are paged."""
    candidates = await staff_for_area(session, None if everyone_on_duty else handoff.village_id)
    paged = [s for s in candidates if on_duty(s, now)]
    if not paged:
        paged = [s for s in candidates if "supervisor" in (s.roles or [])]
    for s in paged:
        await notify_staff(session, s.id, text, kind="page")
    return [s.id for s in paged]


def _name(staff: Staff | None) -> str:
    if staff is None:
        return ""
    return short_name(staff.display_name or staff.username)


def short_name(display_name: str) -> str:
    """“社工 王芳 (Wang Fang, social worker)” → “王芳”: what a villager is shown."""
    name = display_name.split("(")[0].strip()
    return name.split()[-1] if name.split() else display_name


async def claim_handoff(session: AsyncSession, handoff_id: int, staff_id: int, *, now: datetime | None = None
                        ) -> bool:
    """Exactly one of several claimers wins (a conditional UPDATE on `status = 'waiting'`)."""
    now = now or utcnow()
    result = await session.execute(
        update(Handoff).where(Handoff.id == handoff_id, Handoff.status == "waiting")
        .values(status="claimed", claimed_by_staff_id=staff_id, claimed_at=func.coalesce(Handoff.claimed_at, now),
                last_worker_at=None, last_villager_at=None)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    handoff = await session.get(Handoff, handoff_id)
    await session.refresh(handoff)
    await audit.record(session, f"staff:{staff_id}", "handoff.claim", f"handoff:{handoff_id}")
    staff = await session.get(Staff, staff_id)
    if staff is not None:
        staff.desk_handoff_id = handoff_id
    person = await session.get(Person, handoff.person_id)
    name = _name(staff)
    text = (f"Social worker {name} is here and will answer you now." if person and person.locale == "en"
            else f"社工{name}来了，会在这里回复您。")
    await notify_person(session, handoff.person_id, text, kind="relay")
    return True


async def relay_to_villager(session: AsyncSession, handoff: Handoff, staff_id: int, text: str, *,
                            attachments: list | None = None, now: datetime | None = None) -> None:
    """A worker's answer, signed with their name, sent to the villager through the outbox."""
    now = now or utcnow()
    if handoff.status != "claimed" or handoff.claimed_by_staff_id != staff_id:
        raise HandoffError("只有认领了这个转人工的社工才能回复 / only the worker who claimed this handoff can answer")
    staff = await session.get(Staff, staff_id)
    signed = f"【社工{_name(staff)}】{text}" if text else ""
    row = await notify_person(session, handoff.person_id, signed, kind="relay")
    if row is not None and attachments:
        row.attachments = list(attachments)
    stored = (await session.execute(
        select(Message).where(Message.person_id == handoff.person_id, Message.direction == "out")
        .order_by(Message.id.desc()).limit(1))).scalars().first()
    if stored is not None:
        stored.staff_id = staff_id
        if attachments:
            stored.attachments = list(attachments)
    handoff.last_worker_at = now
    if handoff.first_reply_at is None:
        handoff.first_reply_at = now


async def transfer_handoff(session: AsyncSession, handoff: Handoff, to_staff_id: int | None, *,
                           by_staff_id: int | None = None) -> None:
    """Give the handoff to another worker, or back to the queue (`to_staff_id=None`)."""
    if handoff.status == "closed":
        raise HandoffError("这个转人工已经结束 / this handoff is closed")
    previous = handoff.claimed_by_staff_id
    handoff.claimed_by_staff_id = to_staff_id
    handoff.status = "claimed" if to_staff_id else "waiting"
    handoff.transfers = (handoff.transfers or 0) + 1
    if to_staff_id:
        handoff.claimed_at = handoff.claimed_at or utcnow()
        target = await session.get(Staff, to_staff_id)
        if target is not None:
            target.desk_handoff_id = handoff.id
    await _unfocus(session, previous, handoff.id)
    await audit.record(session, f"staff:{by_staff_id}" if by_staff_id else "system", "handoff.transfer",
                       f"handoff:{handoff.id}", {"from": previous, "to": to_staff_id})
    if to_staff_id:
        await notify_staff(session, to_staff_id,
                           f"转给您一个求助（#{handoff.id}）/ A handoff was transferred to you (#{handoff.id})")


async def release_handoff(session: AsyncSession, handoff: Handoff, *, by_staff_id: int | None = None,
                          reason: str = "release") -> None:
    """Back to the queue: the worker let it go (`/release`) or did not answer in time."""
    if handoff.status != "claimed":
        raise HandoffError("这个转人工没有人认领 / this handoff is not claimed")
    previous = handoff.claimed_by_staff_id
    handoff.status, handoff.claimed_by_staff_id = "waiting", None
    handoff.skipped_by = sorted({*(handoff.skipped_by or []), *([previous] if previous else [])})
    await _unfocus(session, previous, handoff.id)
    await audit.record(session, f"staff:{by_staff_id}" if by_staff_id else "system", "handoff.release",
                       f"handoff:{handoff.id}", {"from": previous, "reason": reason})


async def _unfocus(session: AsyncSession, staff_id: int | None, handoff_id: int) -> None:
    if staff_id is None:
        return
    staff = await session.get(Staff, staff_id)
    if staff is not None and staff.desk_handoff_id == handoff_id:
        staff.desk_handoff_id = None


async def close_handoff(session: AsyncSession, handoff: Handoff, *, outcome: str = "", by_staff_id: int | None = None,
                        now: datetime | None = None) -> None:
    """Close: the person is back with the bot, which asks how it went (the answer is kept
    by `record_satisfaction`)."""
    now = now or utcnow()
    if handoff.status == "closed":
        return
    # the person's conversation before the handoff: a turn of theirs in human mode locks the
    # conversation, then the handoff (the relay)
    await people.lock_people(session, handoff.person_id)
    handoff.status, handoff.outcome, handoff.closed_at = "closed", outcome, now
    await _set_mode(session, handoff.person_id, "bot")
    await _unfocus(session, handoff.claimed_by_staff_id, handoff.id)
    await audit.record(session, f"staff:{by_staff_id}" if by_staff_id else "system", "handoff.close",
                       f"handoff:{handoff.id}", {"outcome": bool(outcome)})
    person = await session.get(Person, handoff.person_id)
    locale = "en" if person and person.locale == "en" else "zh"
    text = ("The social worker has finished this conversation. Reply anything to talk to the bot again.\n"
            if locale == "en" else "社工这次的对话结束了，有事再发消息给我就行。\n") + SATISFACTION_QUESTION[locale]
    conversation = (await session.execute(
        select(Conversation).where(Conversation.person_id == handoff.person_id))).scalar_one_or_none()
    if conversation is not None:
        conversation.state = {**(conversation.state or {}), SATISFACTION_KEY: handoff.id}
    await notify_person(session, handoff.person_id, text, buttons=SATISFACTION_BUTTONS[locale], kind="relay")


async def record_satisfaction(session: AsyncSession, handoff_id: int, person_id: int, score: int) -> bool:
    """The villager's answer to "这次帮到您了吗？" (1 satisfied, 2 so-so, 3 not)."""
    if score not in SATISFACTION:
        return False
    result = await session.execute(update(Handoff).where(
        Handoff.id == handoff_id, Handoff.person_id == person_id, Handoff.status == "closed")
        .values(satisfaction=score).execution_options(synchronize_session=False))
    if result.rowcount:
        await audit.record(session, f"person:{person_id}", "handoff.satisfaction", f"handoff:{handoff_id}",
                           {"score": score})
    return bool(result.rowcount)


async def add_note(session: AsyncSession, handoff: Handoff, staff_id: int, text: str, *,
                   now: datetime | None = None) -> HandoffNote:
    """A private note: stored and audited, never sent to the villager."""
    text = text.strip()
    if not text:
        raise HandoffError("备注不能是空的 / a note cannot be empty")
    note = HandoffNote(handoff_id=handoff.id, staff_id=staff_id, text=text[:4000], created_at=now or utcnow())
    session.add(note)
    await session.flush()
    await audit.record(session, f"staff:{staff_id}", "handoff.note", f"handoff:{handoff.id}", {"note": note.id})
    return note


async def notes(session: AsyncSession, handoff_id: int) -> list[HandoffNote]:
    return list((await session.execute(select(HandoffNote).where(HandoffNote.handoff_id == handoff_id)
                                       .order_by(HandoffNote.id))).scalars())


async def list_handoffs(session: AsyncSession, *, status: str | None = None, village_ids: set[int] | None = None,
                        limit: int = 200, visible: ColumnElement[bool] | None = None) -> list[Handoff]:
    """Open ones (or those in `status`) by priority, then oldest first; `visible` is the
    caller's access filter."""
    q = select(Handoff) if visible is None else select(Handoff).where(visible)
    if status:
        q = q.where(Handoff.status == status)
    else:
        q = q.where(Handoff.status.in_(OPEN))
    if village_ids is not None:
        q = q.where(Handoff.village_id.in_(village_ids))
    q = q.order_by(*queue_order()).limit(limit)
    return list((await session.execute(q)).scalars())


async def reassign_open_handoffs(session: AsyncSession, from_staff_id: int, to_staff_id: int) -> int:
    result = await session.execute(
        update(Handoff).where(Handoff.claimed_by_staff_id == from_staff_id, Handoff.status == "claimed")
        .values(claimed_by_staff_id=to_staff_id))
    return result.rowcount or 0


@dataclass(frozen=True)
class Summary:
    """What a worker reads before and while answering."""

    handoff_id: int
    priority: str
    name: str
    village: str
    asked: str  # what the person asked (the handoff's summary)
    last_messages: list[tuple[str, str]]  # (direction, text), oldest first
    open_cases: list[str]  # case numbers

    def case_label(self) -> str:
        return self.open_cases[0] if self.open_cases else ""


# the summary's reads, on the driver in one call (storage/driver.py)
_PERSON = driver.Query(select(Person.display_name, Person.erased).where(Person.id == bindparam("person_id")))
_VILLAGE_NAME = driver.Query(select(Area.name).where(Area.id == bindparam("village_id")))
_OPEN_CASES_Q = driver.Query(select(NeedRequest.number).where(
    NeedRequest.person_id == bindparam("person_id"),
    or_(*(NeedRequest.status == s for s in ("new", "assigned", "in_progress", "waiting")))).order_by(NeedRequest.id))


def _summary_reads(cur: driver.Cursor, person_id: int, village_id: int | None, person: tuple | None,
                   recent: list | None, messages: int):
    village = None
    if person is None:
        person = cur.one(_PERSON, person_id=person_id)
        if person is not None and village_id:
            found = cur.one(_VILLAGE_NAME, village_id=village_id)
            village = found[0] if found else None
    elif village_id:
        found = cur.one(_VILLAGE_NAME, village_id=village_id)
        village = found[0] if found else None
    if recent is None and messages > 0:
        recent = read_recent_lines(cur, person_id, messages)
    cases = [number for (number,) in cur.rows(_OPEN_CASES_Q, person_id=person_id)]
    return person, village, recent, cases


async def summary(session: AsyncSession, handoff: Handoff, *, messages: int = 5,
                  recent: list | None = None, person: tuple[str, bool] | None = None) -> Summary:
    """`recent`: the person's `recent_lines` read with a limit of at least `messages`, and
    `person`: their (display_name, erased), when the caller has just read them."""
    # columns only: a handoff is summarised for every offer and page, no ORM objects needed
    person, village, recent, cases = await driver.run(
        session, _summary_reads, handoff.person_id, handoff.village_id, person, recent, messages)
    history = [(d, t) for d, t in recent[-messages:] if t] if messages > 0 else []
    if handoff.case_id:
        linked = await session.get(NeedRequest, handoff.case_id)
        if linked is not None and linked.number not in cases:
            cases.insert(0, linked.number)
        elif linked is not None:
            cases.remove(linked.number)
            cases.insert(0, linked.number)
    name = (person[0] if person and not person[1] else "") or f"#{handoff.person_id}"
    return Summary(handoff.id, handoff.priority, name, village or "", handoff.summary or "", history, cases)


PRIORITY_LABEL = {"emergency": "【紧急】", "urgent": "【急】", "normal": ""}


def offer_text(s: Summary, *, header: str = "新求助") -> str:
    """A handoff offered to a worker: who, where, what they asked, the last messages —
    phone and ID numbers masked, since the text leaves the system."""
    where = " · ".join(p for p in (s.village or "未知村", s.name, s.case_label()) if p)
    lines = [f"{PRIORITY_LABEL.get(s.priority, '')}{header} #{s.handoff_id}（{where}）"]
    if s.asked:
        lines.append("问：" + s.asked.strip()[:300])
    last = [t for d, t in s.last_messages if d == "in"][-2:]
    if last:
        lines.append("最近：" + " / ".join(t.strip()[:80] for t in last))
    return mask("\n".join(lines))


def offer_buttons(handoff_id: int) -> tuple[Button, ...]:
    return (Button("认领 Claim", f"/claim {handoff_id}"), Button("跳过 Skip", f"/skip {handoff_id}"))


async def offer(session: AsyncSession, handoff: Handoff, staff_ids: list[int], *, header: str = "新求助",
                kind: str = "page", recent: list | None = None, person: tuple[str, bool] | None = None
                ) -> list[int]:
    """Notify each staff member once, on the messenger they used last: Claim/Skip buttons on
    Telegram, "回复 接 N 认领" on WeChat (and other text channels). Returns who was reached.
    `recent`, `person`: as `summary`'s."""
    if not staff_ids:
        return []
    text = offer_text(await summary(session, handoff, recent=recent, person=person), header=header)
    reached = []
    identities = await best_staff_identities(session, staff_ids)
    for sid in dict.fromkeys(staff_ids):
        identity = identities.get(sid)
        if identity is None:
            continue
        if identity.channel == "telegram":
            row = await notify_staff(session, sid, text, buttons=offer_buttons(handoff.id), kind=kind,
                                     identity=identity)
        else:
            row = await notify_staff(session, sid, f"{text}\n回复“接 {handoff.id}”认领，“跳过 {handoff.id}”跳过。",
                                     kind=kind, identity=identity)
        if row is not None:
            reached.append(sid)
    offered = sorted({*(handoff.offered_to or []), *reached})
    if offered != handoff.offered_to:  # an unchanged list would still make the handoff dirty: a flush for nothing
        handoff.offered_to = offered
    return reached
