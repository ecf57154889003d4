"""/api/cases/{number}/… casework: the stage, the case plan, tasks and referrals; /api/tasks
(the caller's own) and /api/agencies (the list admins keep). Same auth and area rules as
/api/cases: a case outside the caller's areas answers 404."""
from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.cases import staff_covering_case, visible_case
from bot.authz import Caller
from bot.api.common import (
    ApiError,
    casework_json,
    caller,
    iso,
    not_found,
    not_viewer,
    now_of,
    resource_router,
    services_of,
    writer,
)
from storage import agencies as agency_service
from storage import approvals, audit, casework
from storage import referrals as referral_service
from storage.agencies import AgencyError
from storage.cases import CaseError
from storage.models import Agency, CaseApproval, NeedRequest

router = resource_router()


def _refused(exc: Exception) -> ApiError:
    return ApiError(422, "不能这样修改个案", str(exc))


async def _changeable(s: AsyncSession, c: Caller, number: str) -> NeedRequest:
    writer(c)
    case = await visible_case(s, c.scope, number)
    if not authz.can_change_case(c.scope, case):
        raise not_found("个案", "case")
    return case


async def _answer(s: AsyncSession, case: NeedRequest, request: Request) -> dict:
    return {"number": case.number, "stage": case.stage, "status": case.status, "outcome": case.outcome,
            **await casework_json(s, case, today=casework.local_day(now_of(services_of(request))))}


# ── stage ────────────────────────────────────────────────────────────────────────────────


class StageIn(BaseModel):
    stage: str = Field(..., description=f"one of {', '.join(casework.STAGES)}; from closed to another = reopen")
    outcome: str | None = Field(None, max_length=4000, description="required when closing")
    note: str = Field("", max_length=4000)


@router.post("/cases/{number}/stage", summary="Move a case to a stage (received → … → closed, reopen)",
             description="Where the township requires approval, closing answers 202 with a pending approval "
                         "(`approvals`) instead; the township's supervisor decides.")
async def set_stage(number: str, body: StageIn, request: Request, response: Response, c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        try:
            if body.stage == "closed":
                held = await approvals.close_or_request(s, case, staff_id=c.scope.staff_id, outcome=body.outcome,
                                                        note=body.note, now=now_of(services),
                                                        approver=authz.can_approve_case(c.scope, case))
                if held is not None:
                    response.status_code = 202
            else:
                await casework.set_stage(s, case, body.stage, staff_id=c.scope.staff_id, outcome=body.outcome,
                                         note=body.note, now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        return await _answer(s, case, request)


# ── plan ─────────────────────────────────────────────────────────────────────────────────


class PlanItemIn(BaseModel):
    what: str = Field(..., min_length=1, max_length=2000)
    staff: str | None = Field(None, description="a staff username who does it")
    agency: str | None = Field(None, description="or an agency code (GET /api/agencies)")
    due: date | None = None


async def _agency(s: AsyncSession, code: str) -> Agency:
    agency = await agency_service.find_agency(s, code)
    if agency is None or not agency.active:
        raise ApiError(422, f"没有机构“{code}”", f"no active agency '{code}'")
    return agency


@router.post("/cases/{number}/plan", status_code=201, summary="Add a case plan item")
async def add_plan_item(number: str, body: PlanItemIn, request: Request, c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        staff_id = await staff_covering_case(s, body.staff, case) if body.staff else None
        agency_id = (await _agency(s, body.agency)).id if body.agency else None
        try:
            await casework.add_plan_item(s, case, body.what, by_staff_id=c.scope.staff_id, staff_id=staff_id,
                                         agency_id=agency_id, due_on=body.due, now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        return await _answer(s, case, request)


class PlanItemPatch(BaseModel):
    status: str = Field(..., description=f"one of {', '.join(casework.PLAN_STATUSES)}")


@router.patch("/cases/{number}/plan/{item_id}", summary="Mark a plan item done or dropped")
async def change_plan_item(number: str, item_id: int, body: PlanItemPatch, request: Request,
                           c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        try:
            await casework.set_plan_status(s, case, item_id, body.status, by_staff_id=c.scope.staff_id,
                                           now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        return await _answer(s, case, request)


# ── tasks ────────────────────────────────────────────────────────────────────────────────


class TaskIn(BaseModel):
    title: str = Field(..., min_length=1, max_length=200)
    due: date
    assignee: str | None = Field(None, description="a staff username covering the case; default: you")


@router.post("/cases/{number}/tasks", status_code=201, summary="Add a task (a follow-up call, a home visit)")
async def add_task(number: str, body: TaskIn, request: Request, c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        assignee = await staff_covering_case(s, body.assignee, case) if body.assignee else None
        try:
            await casework.add_task(s, case, body.title, body.due, by_staff_id=c.scope.staff_id,
                                    assignee_staff_id=assignee, now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        return await _answer(s, case, request)


class TaskPatch(BaseModel):
    done: bool


@router.patch("/cases/{number}/tasks/{task_id}", summary="Mark a task done (or not done)")
async def change_task(number: str, task_id: int, body: TaskPatch, request: Request, c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        try:
            await casework.set_task_done(s, case, task_id, body.done, by_staff_id=c.scope.staff_id,
                                         now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        return await _answer(s, case, request)


@router.get("/tasks", summary="Your open tasks, earliest first (overdue=true: only the overdue)")
async def my_tasks(request: Request, overdue: bool = False, c: Caller = Depends(caller)):
    not_viewer(c)
    services = services_of(request)
    today = casework.local_day(now_of(services))
    async with services.db.session() as s:
        rows = await casework.open_tasks_for(s, c.scope.staff_id, today=today, overdue_only=overdue,
                                             visible=authz.case_filter(c.scope))
        await audit.record(s, c.scope.actor, "tasks.read", f"staff:{c.scope.staff_id}")
        return {"today": today.isoformat(),
                "tasks": [{"id": r.task.id, "case": r.case_number, "title": r.task.title,
                           "due": r.task.due_on.isoformat(), "overdue": r.overdue} for r in rows]}


# ── referrals ────────────────────────────────────────────────────────────────────────────


class ReferralIn(BaseModel):
    agency: str = Field(..., description="an agency code (GET /api/agencies)")
    reason: str = Field("", max_length=2000)


@router.post("/cases/{number}/referrals", status_code=201,
             summary="Refer the case to an agency (the villager is told)")
async def add_referral(number: str, body: ReferralIn, request: Request, response: Response,
                       c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        agency = await _agency(s, body.agency)
        try:
            made = await approvals.refer_or_request(s, case, agency, body.reason, staff_id=c.scope.staff_id,
                                                    approver=authz.can_approve_case(c.scope, case),
                                                    now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        if isinstance(made, CaseApproval):
            response.status_code = 202
        return await _answer(s, case, request)


# ── approvals ────────────────────────────────────────────────────────────────────────────


class DecisionIn(BaseModel):
    decision: Literal["approve", "decline"]
    note: str = Field("", max_length=500)


@router.post("/cases/{number}/approvals/{approval_id}",
             summary="Approve (the close or referral is done) or decline (the worker is told) a held action",
             description="The township's supervisor or an admin; pending approvals are listed in "
                         "`GET /api/cases/{number}` under `approvals`.")
async def decide_approval(number: str, approval_id: int, body: DecisionIn, request: Request,
                          c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        if not authz.can_approve_case(c.scope, case):
            raise ApiError(403, "只有镇上主管或管理员可以审批", "only the township's supervisor or an admin approves")
        approval = await s.get(CaseApproval, approval_id)
        if approval is None or approval.case_id != case.id:
            raise not_found("审批", "approval")
        try:
            await approvals.decide(s, approval, case, body.decision == "approve", by_staff_id=c.scope.staff_id,
                                   note=body.note, now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        return await _answer(s, case, request)


class ReferralPatch(BaseModel):
    status: Literal["accepted", "done", "declined"]
    note: str = Field("", max_length=2000, description="what the agency said (internal)")


@router.patch("/cases/{number}/referrals/{referral_id}",
              summary="Record the agency's answer: accepted, done (the villager is told) or declined")
async def change_referral(number: str, referral_id: int, body: ReferralPatch, request: Request,
                          c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _changeable(s, c, number)
        try:
            await referral_service.set_referral_status(s, case, referral_id, body.status,
                                                       by_staff_id=c.scope.staff_id, note=body.note,
                                                       now=now_of(services))
        except CaseError as exc:
            raise _refused(exc) from exc
        return await _answer(s, case, request)


# ── agencies ─────────────────────────────────────────────────────────────────────────────


def _agency_json(a: Agency) -> dict:
    return {"code": a.code, "name": a.name, "name_en": a.name_en, "kind": a.kind, "contact": a.contact,
            "active": a.active, "created_at": iso(a.created_at)}


@router.get("/agencies", summary="Agencies cases can be referred to")
async def list_agencies(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        return {"agencies": [_agency_json(a) for a in await agency_service.list_agencies(
            s, active_only=not c.scope.is_admin)]}


def _admin(c: Caller) -> None:
    if not c.scope.is_admin:
        raise ApiError(403, "只有管理员可以修改机构列表", "only admins keep the agency list")


class AgencyIn(BaseModel):
    code: str = Field(..., min_length=1, max_length=32, pattern=r"^[a-z0-9-]+$")
    name: str = Field(..., min_length=1, max_length=100)
    name_en: str = Field("", max_length=100)
    kind: str = Field("government", description=f"one of {', '.join(agency_service.KINDS)}")
    contact: str = Field("", max_length=200)


@router.post("/agencies", status_code=201, summary="Add an agency (admins)")
async def add_agency(body: AgencyIn, request: Request, c: Caller = Depends(caller)):
    _admin(c)
    async with services_of(request).db.session() as s:
        try:
            agency = await agency_service.add_agency(s, code=body.code, name=body.name, name_en=body.name_en,
                                                     kind=body.kind, contact=body.contact, actor=c.scope.actor)
        except AgencyError as exc:
            raise ApiError(422, "不能添加这个机构", str(exc)) from exc
        return _agency_json(agency)


class AgencyPatch(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=100)
    name_en: str | None = Field(None, max_length=100)
    contact: str | None = Field(None, max_length=200)
    active: bool | None = None


@router.patch("/agencies/{code}", summary="Rename, re-contact or deactivate an agency (admins)")
async def change_agency(code: str, body: AgencyPatch, request: Request, c: Caller = Depends(caller)):
    _admin(c)
    async with services_of(request).db.session() as s:
        agency = await agency_service.find_agency(s, code)
        if agency is None:
            raise not_found("机构", "agency")
        await agency_service.change_agency(s, agency, actor=c.scope.actor, **body.model_dump())
        return _agency_json(agency)
