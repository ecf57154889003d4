"""Need requests (cases): open, follow, change, close. The caller owns the transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage import audit, timers
from storage.models import Area, CaseCounter, CaseEvent, NeedRequest, Person, utcnow
from storage.notify import notify_person
from vocab.cases import CATEGORIES

AFFECTED = ("self", "child", "elder", "household", "other")
URGENCIES = ("low", "normal", "high", "urgent")
STATUSES = ("new", "assigned", "in_progress", "waiting", "resolved", "closed")
OPEN_STATUSES = ("new", "assigned", "in_progress", "waiting")
CLOSED_STATUSES = ("resolved", "closed")
FOLLOWUP = "case_followup"  # "问题解决了吗？" some days after the close (storage/followups.py, bot/followups.py)
PRIORITY_BY_URGENCY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}

STATUS_WORDS = {
    "zh": {"new": "已收到，等社工处理", "assigned": "已安排社工", "in_progress": "社工正在办理",
           "waiting": "在等材料或回复", "resolved": "已解决", "closed": "已结案"},
    "en": {"new": "received, waiting for a social worker", "assigned": "a social worker is assigned",
           "in_progress": "a social worker is working on it", "waiting": "waiting for documents or a reply",
           "resolved": "resolved", "closed": "closed"},
}


class CaseError(StorageError, ValueError):
    """A case change that is not allowed, in words a person can read."""


def format_number(year: int, seq: int) -> str:
    return f"XZ-{year}-{seq:06d}"


async def next_case_number(session: AsyncSession, year: int) -> str:
    """Unique under concurrency on SQLite and PostgreSQL: one atomic UPDATE … RETURNING."""
    dialect = session.bind.dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(CaseCounter)
    await session.execute(ins.values(year=year, last=0).on_conflict_do_nothing(index_elements=["year"]))
    seq = (await session.execute(
        update(CaseCounter).where(CaseCounter.year == year).values(last=CaseCounter.last + 1)
        .returning(CaseCounter.last)
    )).scalar_one()
    return format_number(year, seq)


async def open_case(
    session: AsyncSession,
    *,
    person_id: int,
    category: str,
    description: str = "",
    affected: str = "self",
    urgency: str = "normal",
    village_id: int | None = None,
    phone: str = "",
    attachments: list | None = None,
    filed_by_person_id: int | None = None,
    filed_by_staff_id: int | None = None,
    on_behalf: bool = False,
    subject_consent: bool = True,
    now: datetime | None = None,
) -> NeedRequest:
    if category not in CATEGORIES:
        raise CaseError(f"unknown category {category!r}")
    if affected not in AFFECTED:
        raise CaseError(f"unknown affected {affected!r}")
    if urgency not in URGENCIES:
        raise CaseError(f"unknown urgency {urgency!r}")
    now = now or utcnow()
    case = NeedRequest(
        number=await next_case_number(session, now.year), person_id=person_id, category=category,
        description=description, affected=affected, urgency=urgency, priority=PRIORITY_BY_URGENCY[urgency],
        village_id=village_id, phone=phone, attachments=attachments or [],
        filed_by_person_id=filed_by_person_id if filed_by_person_id is not None else (
            None if filed_by_staff_id else person_id),
        filed_by_staff_id=filed_by_staff_id, on_behalf=on_behalf, subject_consent=subject_consent,
        status="new", created_at=now, updated_at=now,
    )
    session.add(case)
    await session.flush()
    session.add(CaseEvent(case_id=case.id, kind="created", text="", data={"category": category}, created_at=now))
    await audit.record(session, _actor(filed_by_staff_id, filed_by_person_id or person_id), "case.open", case.number)
    await session.flush()
    return case


def _actor(staff_id: int | None, person_id: int | None) -> str:
    return f"staff:{staff_id}" if staff_id else (f"person:{person_id}" if person_id else "system")


async def get_case(session: AsyncSession, number: str) -> NeedRequest | None:
    return (await session.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one_or_none()


async def add_case_event(session: AsyncSession, case: NeedRequest, kind: str, text: str = "", *,
                         staff_id: int | None = None, public: bool = True, data: dict | None = None,
                         now: datetime | None = None) -> CaseEvent:
    now = now or utcnow()
    event = CaseEvent(case_id=case.id, kind=kind, text=text, staff_id=staff_id, public=public,
                      data=data or {}, created_at=now)
    session.add(event)
    case.updated_at = now
    await session.flush()
    return event


async def add_attachments(session: AsyncSession, case: NeedRequest, attachments: list[dict]) -> None:
    case.attachments = [*case.attachments, *attachments]
    for a in attachments:
        await add_case_event(session, case, "attachment", data={"kind": a.get("kind", "")})


async def set_case_status(session: AsyncSession, case: NeedRequest, status: str, *, staff_id: int | None = None,
                          outcome: str | None = None, note: str = "", now: datetime | None = None,
                          notify: bool = True) -> None:
    """Change the status, record it on the timeline and tell the villager."""
    if status not in STATUSES:
        raise CaseError(f"未知状态 {status!r} / unknown status {status!r}; one of {', '.join(STATUSES)}")
    now = now or utcnow()
    old = case.status
    if old == status and outcome is None:
        return
    case.status = status
    if outcome is not None:
        case.outcome = outcome
    case.closed_at = now if status in ("resolved", "closed") else None
    await add_case_event(session, case, "status", note, staff_id=staff_id, data={"from": old, "to": status},
                         now=now)
    await audit.record(session, _actor(staff_id, None), "case.status", case.number, {"from": old, "to": status})
    if status in CLOSED_STATUSES and old not in CLOSED_STATUSES:
        # due at once: the leader's handler sets the follow-up date from XIANGZHU_FOLLOWUP_DAYS
        stamp = int(now.timestamp())
        await timers.schedule(session, FOLLOWUP, now, target=f"case:{case.id}",
                              payload={"stage": "plan", "closed_at": now.isoformat()},
                              dedupe_key=f"{FOLLOWUP}:{case.id}:{stamp}")
    if notify and old != status:
        await notify_person(session, case.person_id, await status_notice(session, case))


async def status_notice(session: AsyncSession, case: NeedRequest) -> str:
    person = await session.get(Person, case.person_id)
    locale = person.locale if person and person.locale in STATUS_WORDS else "zh"
    words = STATUS_WORDS[locale][case.status]
    if locale == "en":
        text = f"Your case {case.number} is now: {words}."
        if case.outcome and case.status in ("resolved", "closed"):
            text += f" Result: {case.outcome}"
        return text + " Reply 'my cases' to see it."
    text = f"您的求助 {case.number} 有新进展：{words}。"
    if case.outcome and case.status in ("resolved", "closed"):
        text += f"结果：{case.outcome}"
    return text + "回复“我的求助”可以查看。"


async def assign_case(session: AsyncSession, case: NeedRequest, staff_id: int | None, *,
                      by_staff_id: int | None = None, now: datetime | None = None) -> None:
    case.assigned_staff_id = staff_id
    await add_case_event(session, case, "assigned", staff_id=by_staff_id, data={"to": staff_id}, public=False,
                         now=now)
    await audit.record(session, _actor(by_staff_id, None), "case.assign", case.number, {"to": staff_id})
    if staff_id is not None and case.status == "new":
        await set_case_status(session, case, "assigned", staff_id=by_staff_id, now=now)


async def add_note(session: AsyncSession, case: NeedRequest, text: str, *, staff_id: int,
                   now: datetime | None = None) -> CaseEvent:
    """A worker's internal note; not shown to the villager."""
    event = await add_case_event(session, case, "note", text, staff_id=staff_id, public=False, now=now)
    await audit.record(session, f"staff:{staff_id}", "case.note", case.number)
    return event


_PERSON_CASES = select(NeedRequest).where(NeedRequest.person_id == bindparam("person_id"))
_CASES_FOR_PERSON = {  # open_only → the statement, built once
    False: _PERSON_CASES.order_by(NeedRequest.id.desc()),
    True: _PERSON_CASES.where(NeedRequest.status.in_(OPEN_STATUSES)).order_by(NeedRequest.id.desc()),
}


async def cases_for_person(session: AsyncSession, person_id: int, *, open_only: bool = False) -> list[NeedRequest]:
    return list((await session.execute(_CASES_FOR_PERSON[open_only], {"person_id": person_id})).scalars())


async def list_cases(session: AsyncSession, *, status: str | None = None, category: str | None = None,
                     village_ids: set[int] | None = None, limit: int = 200, offset: int = 0,
                     visible: ColumnElement[bool] | None = None) -> list[NeedRequest]:
    """Newest first within priority. `village_ids=None` means every area; `visible` is the
    caller's access filter (bot/authz.py), if any."""
    q = select(NeedRequest) if visible is None else select(NeedRequest).where(visible)
    if status:
        q = q.where(NeedRequest.status == status)
    if category:
        q = q.where(NeedRequest.category == category)
    if village_ids is not None:
        q = q.where(NeedRequest.village_id.in_(village_ids))
    q = q.order_by(NeedRequest.priority, NeedRequest.created_at.desc()).limit(limit).offset(offset)
    return list((await session.execute(q)).scalars())


async def timeline(session: AsyncSession, case: NeedRequest, *, public_only: bool = True) -> list[CaseEvent]:
    q = select(CaseEvent).where(CaseEvent.case_id == case.id)
    if public_only:
        q = q.where(CaseEvent.public.is_(True))
    return list((await session.execute(q.order_by(CaseEvent.id))).scalars())


async def reassign_open_cases(session: AsyncSession, from_staff_id: int, to_staff_id: int) -> int:
    result = await session.execute(
        update(NeedRequest).where(NeedRequest.assigned_staff_id == from_staff_id,
                                  NeedRequest.status.in_(OPEN_STATUSES)).values(assigned_staff_id=to_staff_id)
    )
    return result.rowcount or 0


async def count_cases(session: AsyncSession, *, visible: ColumnElement[bool],
                      village_ids: set[int] | None = None) -> dict:
    """Counts of the cases `visible` lets through: `{by_status, by_category, by_village (area
    code or "unknown"), total}`."""
    where = [visible]
    if village_ids is not None:
        where.append(NeedRequest.village_id.in_(village_ids))
    out: dict[str, dict] = {}
    for key, col in (("by_status", NeedRequest.status), ("by_category", NeedRequest.category)):
        rows = await session.execute(select(col, func.count()).where(*where).group_by(col))
        out[key] = {k: n for k, n in rows.all()}
    rows = await session.execute(select(Area.code, func.count()).select_from(NeedRequest)
                                 .outerjoin(Area, Area.id == NeedRequest.village_id).where(*where).group_by(Area.code))
    out["by_village"] = {(k or "unknown"): n for k, n in rows.all()}
    out["total"] = sum(out["by_status"].values())
    return out
