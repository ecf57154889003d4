"""Casework on a case: its stage (received → assessed → plan → in service → closed, reopen),
the case plan's items and the workers' tasks, and finding cases by those. The caller owns the
transaction and has checked the area rules (bot/authz.py); every change is audited here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage import cases as case_store
from storage.cases import CaseError
from storage.handoffs import staff_for_area
from storage.models import CasePlanItem, CaseTask, Flag, NeedRequest, Staff

STAGES = ("received", "assessed", "plan", "in_service", "closed")
PLAN_STATUSES = ("open", "done", "dropped")
REOPEN_STAGE = "assessed"
TZ = ZoneInfo("Asia/Shanghai")
# the case's status follows its stage where the stage says more
STATUS_OF_STAGE = {"assessed": "in_progress", "plan": "in_progress", "in_service": "in_progress", "closed": "closed"}


def local_day(now: datetime) -> date:
    """Due dates are local (Asia/Shanghai) days."""
    return now.astimezone(TZ).date()


def is_overdue(task: CaseTask, today: date) -> bool:
    return task.done_at is None and task.due_on < today


async def set_stage(session: AsyncSession, case: NeedRequest, stage: str, *, staff_id: int | None,
                    outcome: str | None = None, note: str = "", now: datetime | None = None) -> None:
    """Move the case to `stage`. Closing needs an outcome; reopening (from closed to any open
    stage) is allowed. The villager is told through the status change when there is one."""
    if stage not in STAGES:
        raise CaseError(f"未知阶段 {stage!r} / unknown stage {stage!r}; one of {', '.join(STAGES)}")
    old = case.stage
    if stage == old:
        return
    if stage == "closed" and not (outcome or case.outcome).strip():
        raise CaseError("结案要写结果 / closing a case needs an outcome")
    case.stage = stage
    await case_store.add_case_event(session, case, "stage", note, staff_id=staff_id, public=False,
                                    data={"from": old, "to": stage}, now=now)
    await audit.record(session, f"staff:{staff_id}" if staff_id else "system", "case.stage", case.number,
                       {"from": old, "to": stage})
    status = STATUS_OF_STAGE.get(stage) or ("assigned" if case.assigned_staff_id else "new")
    if old == "closed" or status != case.status or (outcome is not None and outcome != case.outcome):
        await case_store.set_case_status(session, case, status, staff_id=staff_id, outcome=outcome, note=note,
                                         now=now)


async def reopen(session: AsyncSession, case: NeedRequest, *, staff_id: int | None, note: str = "",
                 now: datetime | None = None) -> None:
    if case.stage != "closed" and case.status not in ("resolved", "closed"):
        raise CaseError("个案没有结案 / the case is not closed")
    if case.stage != "closed":
        case.stage = "closed"
    await set_stage(session, case, REOPEN_STAGE, staff_id=staff_id, note=note, now=now)


# ── the case plan ────────────────────────────────────────────────────────────────────────


async def plan_items(session: AsyncSession, case: NeedRequest) -> list[CasePlanItem]:
    q = select(CasePlanItem).where(CasePlanItem.case_id == case.id).order_by(CasePlanItem.id)
    return list((await session.execute(q)).scalars())


async def add_plan_item(session: AsyncSession, case: NeedRequest, what: str, *, by_staff_id: int,
                        staff_id: int | None = None, agency_id: int | None = None, due_on: date | None = None,
                        now: datetime | None = None) -> CasePlanItem:
    what = what.strip()
    if not what:
        raise CaseError("计划内容不能为空 / the plan item needs a text")
    if staff_id is not None and agency_id is not None:
        raise CaseError("负责人是社工或机构，只选一个 / who: a staff member or an agency, not both")
    item = CasePlanItem(case_id=case.id, what=what[:2000], staff_id=staff_id, agency_id=agency_id, due_on=due_on)
    session.add(item)
    await session.flush()
    await case_store.add_case_event(session, case, "plan", what[:200], staff_id=by_staff_id, public=False,
                                    data={"item": item.id}, now=now)
    await audit.record(session, f"staff:{by_staff_id}", "case.plan.add", case.number, {"item": item.id})
    return item


async def set_plan_status(session: AsyncSession, case: NeedRequest, item_id: int, status: str, *,
                          by_staff_id: int, now: datetime | None = None) -> CasePlanItem:
    if status not in PLAN_STATUSES:
        raise CaseError(f"未知状态 {status!r} / unknown status {status!r}; one of {', '.join(PLAN_STATUSES)}")
    item = await session.get(CasePlanItem, item_id)
    if item is None or item.case_id != case.id:
        raise CaseError("这个个案没有这条计划 / no such plan item on this case")
    old, item.status = item.status, status
    await case_store.add_case_event(session, case, "plan", item.what[:200], staff_id=by_staff_id, public=False,
                                    data={"item": item.id, "from": old, "to": status}, now=now)
    await audit.record(session, f"staff:{by_staff_id}", "case.plan.change", case.number,
                       {"item": item.id, "to": status})
    return item


# ── tasks ────────────────────────────────────────────────────────────────────────────────


async def tasks_of(session: AsyncSession, case: NeedRequest) -> list[CaseTask]:
    q = select(CaseTask).where(CaseTask.case_id == case.id).order_by(CaseTask.due_on, CaseTask.id)
    return list((await session.execute(q)).scalars())


async def add_task(session: AsyncSession, case: NeedRequest, title: str, due_on: date, *, by_staff_id: int | None,
                   assignee_staff_id: int | None = None, now: datetime | None = None) -> CaseTask:
    """A task on the case; by_staff_id None: the system made it (e.g. a household to call,
    storage/flags.py)."""
    title = title.strip()
    if not title:
        raise CaseError("任务要写内容 / the task needs a title")
    task = CaseTask(case_id=case.id, title=title[:200], due_on=due_on, created_by_staff_id=by_staff_id,
                    assignee_staff_id=assignee_staff_id if assignee_staff_id is not None else by_staff_id)
    session.add(task)
    await session.flush()
    await case_store.add_case_event(session, case, "task", task.title, staff_id=by_staff_id, public=False,
                                    data={"task": task.id, "due": due_on.isoformat()}, now=now)
    await audit.record(session, f"staff:{by_staff_id}" if by_staff_id else "system", "case.task.add", case.number,
                       {"task": task.id, "assignee": task.assignee_staff_id})
    return task


async def add_call_task(session: AsyncSession, case: NeedRequest, title: str, *, village_id: int | None,
                        now: datetime) -> tuple[CaseTask, bool]:
    """A "call them" task due today on the case, made by the system and assigned to the village's
    worker (else a supervisor over it): for a household that went silent or is out of WeChat's
    reach. An open task with the same title is kept, not doubled. Returns (task, created)."""
    open_task = (await session.execute(select(CaseTask).where(
        CaseTask.case_id == case.id, CaseTask.title == title, CaseTask.done_at.is_(None)))).scalars().first()
    if open_task is not None:
        return open_task, False
    staff = await staff_for_area(session, village_id)
    assignee = next((st for st in staff if "worker" in (st.roles or [])), staff[0] if staff else None)
    task = await add_task(session, case, title, local_day(now), by_staff_id=None,
                          assignee_staff_id=assignee.id if assignee else None, now=now)
    return task, True


async def set_task_done(session: AsyncSession, case: NeedRequest, task_id: int, done: bool, *, by_staff_id: int,
                        now: datetime) -> CaseTask:
    task = await session.get(CaseTask, task_id)
    if task is None or task.case_id != case.id:
        raise CaseError("这个个案没有这项任务 / no such task on this case")
    task.done_at = now if done else None
    await case_store.add_case_event(session, case, "task", task.title, staff_id=by_staff_id, public=False,
                                    data={"task": task.id, "done": done}, now=now)
    await audit.record(session, f"staff:{by_staff_id}", "case.task.done" if done else "case.task.undone",
                       case.number, {"task": task.id})
    return task


@dataclass(frozen=True)
class TaskRow:
    task: CaseTask
    case_number: str
    overdue: bool


async def open_tasks_for(session: AsyncSession, staff_id: int, *, today: date, overdue_only: bool = False,
                         due_by_today: bool = False, visible: ColumnElement[bool] | None = None) -> list[TaskRow]:
    """A worker's open tasks, earliest first; with `overdue_only` the ones past their day,
    with `due_by_today` those and the ones due today."""
    q = (select(CaseTask, NeedRequest.number).join(NeedRequest, NeedRequest.id == CaseTask.case_id)
         .where(CaseTask.assignee_staff_id == staff_id, CaseTask.done_at.is_(None)))
    if overdue_only:
        q = q.where(CaseTask.due_on < today)
    elif due_by_today:
        q = q.where(CaseTask.due_on <= today)
    if visible is not None:
        q = q.where(visible)
    rows = await session.execute(q.order_by(CaseTask.due_on, CaseTask.id))
    return [TaskRow(t, number, is_overdue(t, today)) for t, number in rows.all()]


async def overdue_counts(session: AsyncSession, *, today: date) -> dict[int, int]:
    """Per staff id: open tasks assigned to them past their day (the supervisor's view)."""
    rows = await session.execute(select(CaseTask.assignee_staff_id, func.count()).where(
        CaseTask.done_at.is_(None), CaseTask.due_on < today, CaseTask.assignee_staff_id.is_not(None))
        .group_by(CaseTask.assignee_staff_id))
    return {staff_id: n for staff_id, n in rows.all()}


async def open_case_counts(session: AsyncSession) -> dict[int, int]:
    """Per staff id: open cases assigned to them."""
    rows = await session.execute(select(NeedRequest.assigned_staff_id, func.count()).where(
        NeedRequest.status.in_(case_store.OPEN_STATUSES), NeedRequest.assigned_staff_id.is_not(None))
        .group_by(NeedRequest.assigned_staff_id))
    return {staff_id: n for staff_id, n in rows.all()}


# ── finding cases ────────────────────────────────────────────────────────────────────────

UNASSIGNED = "-"  # the assignee filter's "nobody"


@dataclass
class CaseQuery:
    status: str = ""
    stage: str = ""
    category: str = ""
    urgency: str = ""
    village_ids: set[int] | None = None
    assignee_id: int | str | None = None  # a staff id, UNASSIGNED, or None for anyone
    overdue: bool = False
    overdue_for: int | None = None  # with `overdue`: only tasks assigned to this staff member
    text: str = ""
    created_before: datetime | None = None  # "older than N days": opened before this moment
    flagged: bool = False  # the villager's household has an active flag (return-to-poverty watch)


def _matching(q, query: CaseQuery, today: date):
    """`q` (a select over NeedRequest) narrowed by every filter of `query`."""
    for column, value in ((NeedRequest.status, query.status), (NeedRequest.stage, query.stage),
                          (NeedRequest.category, query.category), (NeedRequest.urgency, query.urgency)):
        if value:
            q = q.where(column == value)
    if query.village_ids is not None:
        q = q.where(NeedRequest.village_id.in_(sorted(query.village_ids)))
    if query.assignee_id == UNASSIGNED:
        q = q.where(NeedRequest.assigned_staff_id.is_(None))
    elif query.assignee_id is not None:
        q = q.where(NeedRequest.assigned_staff_id == query.assignee_id)
    if query.overdue:
        late = [CaseTask.case_id == NeedRequest.id, CaseTask.done_at.is_(None), CaseTask.due_on < today]
        if query.overdue_for is not None:
            late.append(CaseTask.assignee_staff_id == query.overdue_for)
        q = q.where(exists().where(*late))
    if query.created_before is not None:
        q = q.where(NeedRequest.created_at < query.created_before)
    if query.flagged:
        q = q.where(_has_active_flag())
    text = query.text.strip()
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(or_(NeedRequest.number.ilike(like, escape="\\"), NeedRequest.description.ilike(like, escape="\\")))
    return q.order_by(NeedRequest.priority, NeedRequest.created_at.desc())


def _has_active_flag():
    return exists().where(Flag.person_id == NeedRequest.person_id, Flag.cleared_at.is_(None))


async def find_cases(session: AsyncSession, query: CaseQuery, *, visible: ColumnElement[bool], today: date,
                     limit: int = 200) -> list[NeedRequest]:
    """The cases `visible` lets through that match every filter, most urgent then newest first.
    `text` matches the case number or the description."""
    q = _matching(select(NeedRequest).where(visible), query, today).limit(limit)
    return list((await session.execute(q)).scalars())


async def list_version(session: AsyncSession, query: CaseQuery, *, visible: ColumnElement[bool], today: date,
                       limit: int = 200) -> tuple:
    """What the case list would show, in one small query: each listed case's id, last change
    and whether its household is flagged. The live list re-renders only when this changes."""
    q = _matching(select(NeedRequest.id, NeedRequest.updated_at, _has_active_flag()).where(visible),
                  query, today).limit(limit)
    return tuple(tuple(row) for row in (await session.execute(q)).all())


async def flagged_people(session: AsyncSession, person_ids: set[int]) -> set[int]:
    """Which of these people have an active flag."""
    if not person_ids:
        return set()
    rows = await session.execute(select(Flag.person_id).where(Flag.person_id.in_(person_ids), Flag.cleared_at.is_(None)))
    return set(rows.scalars())


async def staff_names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Staff.id, Staff.display_name, Staff.username).where(Staff.id.in_(ids)))
    return {i: d or u for i, d, u in rows.all()}
