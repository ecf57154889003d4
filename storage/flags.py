"""Flags: a worker's mark on a person and their household, e.g. `return_to_poverty_watch`
(防返贫监测). A watch flag starts the monthly check-in (timer `checkin`, sent by
bot/checkins.py); clearing the flag cancels it. The check-in's answers are recorded here: a
hardship opens a case for the village with the answers. The caller owns the transaction."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, casework, timers
from storage import cases as case_store
from storage.errors import StorageError
from storage.models import CaseTask, Flag, NeedRequest, Person, Timer, utcnow

KINDS = ("return_to_poverty_watch",)
WATCH = "return_to_poverty_watch"
CHECKIN = "checkin"  # the monthly self-report (bot/checkins.py)
CALL_HOUSEHOLD = "call_household"  # no answer for two months: a casework task for the village's worker to call
CALL_TITLE = "电话回访：防返贫回访两个月没有回复 / call the household: no check-in answer for two months"
CHECKIN_EVERY = timedelta(days=30)
SILENT_FOR = timedelta(days=60)


class FlagError(StorageError, ValueError):
    """A flag change that is not possible, in words a person can read."""


async def add_flag(session: AsyncSession, person_id: int, kind: str, *, reason: str = "",
                   staff_id: int | None = None, now: datetime | None = None) -> tuple[Flag, bool]:
    """Flag a person; the same kind twice returns the active flag (created False). A watch
    flag's first check-in is due at once (the handler waits out quiet hours)."""
    now = now or utcnow()
    if kind not in KINDS:
        raise FlagError(f"unknown flag kind {kind!r}; one of {', '.join(KINDS)}")
    person = await session.get(Person, person_id)
    if person is None or person.erased:
        raise FlagError(f"person {person_id} not found")
    existing = (await session.execute(select(Flag).where(Flag.person_id == person_id, Flag.kind == kind,
                                                         Flag.cleared_at.is_(None)))).scalars().first()
    if existing is not None:
        return existing, False
    flag = Flag(person_id=person_id, kind=kind, reason=reason, staff_id=staff_id, created_at=now)
    session.add(flag)
    await session.flush()
    if kind == WATCH:
        await schedule_checkin(session, flag, now)
    await audit.record(session, f"staff:{staff_id}" if staff_id else "system", "flag.add", f"person:{person_id}",
                       {"kind": kind, "flag": flag.id})
    return flag, True


async def schedule_checkin(session: AsyncSession, flag: Flag, due: datetime) -> None:
    await timers.schedule(session, CHECKIN, due, target=f"flag:{flag.id}",
                          dedupe_key=f"{CHECKIN}:{flag.id}:{int(due.timestamp())}")


async def clear_flag(session: AsyncSession, flag_id: int, *, person_id: int | None = None,
                     staff_id: int | None = None, now: datetime | None = None) -> Flag | None:
    """Clear a flag (its check-ins stop). None when there is no such flag (of that person)."""
    now = now or utcnow()
    flag = await session.get(Flag, flag_id)
    if flag is None or (person_id is not None and flag.person_id != person_id):
        return None
    if flag.cleared_at is None:
        flag.cleared_at, flag.cleared_by_staff_id = now, staff_id
        await timers.cancel(session, kind=CHECKIN, target=f"flag:{flag.id}")
        await audit.record(session, f"staff:{staff_id}" if staff_id else "system", "flag.clear",
                           f"person:{flag.person_id}", {"kind": flag.kind, "flag": flag.id})
    return flag


async def flags_of(session: AsyncSession, person_id: int, *, active_only: bool = True) -> list[Flag]:
    q = select(Flag).where(Flag.person_id == person_id)
    if active_only:
        q = q.where(Flag.cleared_at.is_(None))
    return list((await session.execute(q.order_by(Flag.id))).scalars())


async def next_checkin(session: AsyncSession, flag: Flag) -> datetime | None:
    """When the flag's next check-in is due (its pending timer), or None."""
    q = (select(Timer.due_at).where(Timer.kind == CHECKIN, Timer.target == f"flag:{flag.id}", Timer.state == timers.PENDING)
         .order_by(Timer.due_at).limit(1))
    return (await session.execute(q)).scalars().first()


def silent_too_long(flag: Flag, now: datetime) -> bool:
    """No check-in answer (or, before the first, since the flag) for two months."""
    return (flag.last_answer_at or flag.created_at) <= now - SILENT_FOR


HARDSHIPS = {  # answer slot -> (case category, words for the case description)
    "disaster": ("disaster", "遭了灾 / a disaster"),
    "illness": ("medical", "大病或意外 / serious illness or accident"),
    "income_dropped": ("livelihood", "收入明显减少 / income dropped"),
}


async def record_checkin(session: AsyncSession, flag_id: int, *, person_id: int, answers: dict[str, bool],
                         now: datetime | None = None) -> tuple[str, NeedRequest | None]:
    """The household's answers (income_dropped, illness, disaster: True = yes). Returns
    (outcome, case): `fine`, `case_opened` (a hardship: a case for the village with the
    answers) or `not_found` (no active flag of this person)."""
    now = now or utcnow()
    flag = await session.get(Flag, flag_id)
    if flag is None or flag.person_id != person_id or flag.cleared_at is not None:
        return "not_found", None
    flag.last_answer_at = now
    hard = [key for key in HARDSHIPS if answers.get(key)]
    await audit.record(session, f"person:{person_id}", "checkin.answer", f"flag:{flag.id}",
                       {k: bool(answers.get(k)) for k in HARDSHIPS}, at=now)
    if not hard:
        return "fine", None
    person = await session.get(Person, person_id)
    lines = [f"- {HARDSHIPS[k][1]}" for k in hard]
    case = await case_store.open_case(
        session, person_id=person_id, category=HARDSHIPS[hard[0]][0], affected="household", urgency="high",
        village_id=person.village_id if person else None,
        description="防返贫回访，村民回答 / return-to-poverty check-in answers:\n" + "\n".join(lines), now=now)
    await case_store.add_case_event(session, case, "note", "", public=False,
                                    data={"checkin": {k: bool(answers.get(k)) for k in HARDSHIPS}, "flag": flag.id},
                                    now=now)
    return "case_opened", case


async def call_household_task(session: AsyncSession, flag: Flag, *, now: datetime | None = None
                              ) -> tuple[NeedRequest, CaseTask, bool]:
    """The household went silent: a casework task (storage/casework.py) "call them", due today,
    assigned to the village's worker (else a supervisor over it), on the person's open case —
    or on a new case for the household when they have none. An open call task already there is
    kept, not doubled. Returns (case, task, created)."""
    now = now or utcnow()
    person = await session.get(Person, flag.person_id)
    village_id = person.village_id if person else None
    case = (await session.execute(select(NeedRequest).where(
        NeedRequest.person_id == flag.person_id, NeedRequest.status.in_(case_store.OPEN_STATUSES))
        .order_by(NeedRequest.id.desc()).limit(1))).scalars().first()
    if case is None:
        case = await case_store.open_case(
            session, person_id=flag.person_id, category="livelihood", affected="household", village_id=village_id,
            description="防返贫回访两个月没有回复，请电话回访 / return-to-poverty watch: no check-in answer for two "
                        "months, please call the household", now=now)
    task, created = await casework.add_call_task(session, case, CALL_TITLE, village_id=village_id, now=now)
    return case, task, created
