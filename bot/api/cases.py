"""/api/cases: the cases in the caller's areas, their counts, one case, changes and notes."""
from __future__ import annotations

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import (
    ApiError,
    case_brief,
    case_detail,
    caller,
    iso,
    not_found,
    not_viewer,
    now_of,
    resource_router,
    services_of,
    village_ids,
    writer,
)
from bot.authz import Caller, StaffScope
from storage import approvals, audit
from storage import cases as case_service
from storage import staff as staff_service
from storage.models import NeedRequest

router = resource_router()


async def visible_case(s: AsyncSession, scope: StaffScope, number: str) -> NeedRequest:
    case = await case_service.get_case(s, number)
    if case is None or not authz.can_see_case(scope, case):
        raise not_found("个案", "case")
    return case


@router.get("/cases", summary="Cases in your areas / 我负责地区的个案")
async def list_cases(request: Request, status: str | None = None, category: str | None = None,
                     village: str | None = Query(None, description="area code: a village, or a township for all its villages"),
                     limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
                     c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        rows = await case_service.list_cases(s, status=status, category=category,
                                             village_ids=await village_ids(s, village), limit=limit, offset=offset,
                                             visible=authz.case_filter(c.scope))
        return {"cases": [await case_brief(s, r) for r in rows]}


@router.get("/cases/summary", summary="Case counts by status, category and village (viewers too)")
async def case_summary(request: Request, village: str | None = None, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        return await case_service.count_cases(s, visible=authz.aggregate_filter(c.scope, NeedRequest.village_id),
                                              village_ids=await village_ids(s, village))


@router.get("/cases/{number}", summary="One case with its timeline and personal fields")
async def get_case(number: str, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        case = await visible_case(s, c.scope, number)
        await audit.record(s, c.scope.actor, "case.read", case.number)
        return await case_detail(s, case, now_of(services_of(request)))


class CasePatch(BaseModel):
    status: str | None = Field(None, description=f"one of {', '.join(case_service.STATUSES)}")
    assignee: str | None = Field(None, description="a staff username; empty string = unassign")
    outcome: str | None = None
    note: str = Field("", description="why, shown on the timeline with the status change")


async def staff_covering_case(s: AsyncSession, username: str, case: NeedRequest) -> int | None:
    if username == "":
        return None
    target = await staff_service.find_staff(s, username)
    if target is None or not target.active:
        raise ApiError(422, f"没有在职账号“{username}”", f"no active staff account '{username}'")
    scope = await authz.scope_for(s, target)
    if not authz.can_change_case(scope, case) and not (scope.can_write and authz.covers_area(scope, case.village_id)):
        raise ApiError(422, f"“{username}”不负责这个村", f"'{username}' does not cover this case's village")
    return target.id


@router.patch("/cases/{number}", summary="Change status, assignee or outcome (the villager is told)")
async def patch_case(number: str, body: CasePatch, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    now = now_of(services)
    async with services.db.session() as s:
        case = await visible_case(s, c.scope, number)
        try:
            if body.assignee is not None:
                await case_service.assign_case(s, case, await staff_covering_case(s, body.assignee, case),
                                               by_staff_id=c.scope.staff_id, now=now)
            if body.status is not None or body.outcome is not None:
                await approvals.check_status_change(s, case, body.status or case.status,
                                                    approver=authz.can_approve_case(c.scope, case))
                await case_service.set_case_status(s, case, body.status or case.status, staff_id=c.scope.staff_id,
                                                   outcome=body.outcome, note=body.note, now=now)
        except case_service.CaseError as exc:
            raise ApiError(422, "不能这样修改个案", str(exc)) from exc
        return await case_detail(s, case, now_of(services_of(request)))


class NoteIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


@router.post("/cases/{number}/notes", status_code=201, summary="Add an internal note (not shown to the villager)")
async def add_case_note(number: str, body: NoteIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        case = await visible_case(s, c.scope, number)
        event = await case_service.add_note(s, case, body.text, staff_id=c.scope.staff_id, now=now_of(services))
        return {"id": event.id, "kind": event.kind, "text": event.text, "at": iso(event.created_at)}
