"""What the API's resources share: errors, the signed-in caller, and the shapes of the
records several resources show."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.authz import Caller
from bot.errors import BotError
from storage import agencies as agency_service
from storage import cases as case_service
from storage import casework
from storage import approvals as approval_service
from storage import referrals as referral_service
from storage.areas import area_ids_under, get_by_code
from storage.models import Area, Handoff, NeedRequest, Person, Staff, utcnow


class ApiError(BotError):
    def __init__(self, status: int, zh: str, en: str, **extra: Any):
        super().__init__(f"{zh} / {en}")
        self.status = status
        self.message = f"{zh} / {en}"
        self.extra = extra


def not_found(what_zh: str, what_en: str) -> ApiError:
    return ApiError(404, f"找不到这个{what_zh}", f"{what_en} not found")


VIEWER_ONLY_TOTALS = ApiError(403, "查看员只能看统计数字", "viewers see totals only (try /api/cases/summary)")
READ_ONLY = ApiError(403, "您的账号只能查看，不能修改", "your account is read-only")
ADMINS_ONLY = ApiError(403, "只有管理员可以这样做", "only admins may do this")


# ── plumbing: services, clock, the signed-in caller ─────────────────────────────────────


def services_of(request: Request):
    return request.app.state.services


def now_of(services) -> datetime:
    clock = getattr(services, "clock", None)
    return clock() if clock is not None else utcnow()


async def caller(request: Request) -> Caller:
    """Dependency: the authenticated caller (401/403 as JSON otherwise)."""
    services = services_of(request)
    async with services.db.session() as s:
        return await authz.authenticate(s, request, now=now_of(services))


def writer(c: Caller) -> Caller:
    if not c.scope.can_write:
        raise READ_ONLY
    return c


def not_viewer(c: Caller) -> Caller:
    if c.scope.is_viewer:
        raise VIEWER_ONLY_TOTALS
    return c


def resource_router() -> APIRouter:
    """A resource's routes: under /api, for signed-in callers only."""
    return APIRouter(prefix="/api", tags=["staff"], dependencies=[Depends(caller)])


# ── shapes ───────────────────────────────────────────────────────────────────────────────


def iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


async def area_brief(s: AsyncSession, area_id: int | None) -> dict | None:
    if area_id is None:
        return None
    a = await s.get(Area, area_id)
    return {"code": a.code, "name": a.name, "name_en": a.name_en} if a else None


async def username(s: AsyncSession, staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    st = await s.get(Staff, staff_id)
    return st.username if st else None


async def case_brief(s: AsyncSession, c: NeedRequest) -> dict:
    return {
        "number": c.number, "status": c.status, "stage": c.stage, "category": c.category, "urgency": c.urgency,
        "priority": c.priority, "affected": c.affected, "village": await area_brief(s, c.village_id),
        "assignee": await username(s, c.assigned_staff_id), "person_id": c.person_id,
        "created_at": iso(c.created_at), "updated_at": iso(c.updated_at), "closed_at": iso(c.closed_at),
    }


async def case_detail(s: AsyncSession, c: NeedRequest, now: datetime | None = None) -> dict:
    person = await s.get(Person, c.person_id)
    events = await case_service.timeline(s, c, public_only=False)
    return {
        **await case_brief(s, c),
        "description": c.description, "phone": c.phone, "outcome": c.outcome,
        "on_behalf": c.on_behalf, "attachments": c.attachments,
        "person": {"id": person.id, "display_name": person.display_name} if person else None,
        "events": [{"kind": e.kind, "text": e.text, "data": e.data, "public": e.public,
                    "staff": await username(s, e.staff_id), "at": iso(e.created_at)} for e in events],
        **await casework_json(s, c, today=casework.local_day(utcnow() if now is None else now)),
    }


async def casework_json(s: AsyncSession, c: NeedRequest, *, today) -> dict:
    """The case's plan, tasks and referrals."""
    agencies = {a.id: a for a in await agency_service.list_agencies(s, active_only=False)}

    def agency_code(agency_id):
        return agencies[agency_id].code if agency_id in agencies else None

    return {
        "plan": [{"id": i.id, "what": i.what, "staff": await username(s, i.staff_id),
                  "agency": agency_code(i.agency_id), "due": i.due_on.isoformat() if i.due_on else None,
                  "status": i.status} for i in await casework.plan_items(s, c)],
        "tasks": [{"id": t.id, "title": t.title, "due": t.due_on.isoformat(),
                   "assignee": await username(s, t.assignee_staff_id), "done_at": iso(t.done_at),
                   "overdue": casework.is_overdue(t, today)} for t in await casework.tasks_of(s, c)],
        "referrals": [{"id": r.id, "agency": agency_code(r.agency_id), "reason": r.reason, "status": r.status,
                       "note": r.note, "staff": await username(s, r.staff_id), "sent_at": iso(r.sent_at),
                       "accepted_at": iso(r.accepted_at), "closed_at": iso(r.closed_at)}
                      for r in await referral_service.referrals_of(s, c)],
        "approvals": [{"id": a.id, "action": a.action, "status": a.status,
                       "outcome": a.data.get("outcome") if a.action == "close" else None,
                       "agency": a.data.get("agency") if a.action == "refer" else None,
                       "reason": a.data.get("reason") if a.action == "refer" else None,
                       "requested_by": await username(s, a.requested_by_staff_id),
                       "decided_by": await username(s, a.decided_by_staff_id), "created_at": iso(a.created_at),
                       "decided_at": iso(a.decided_at)} for a in await approval_service.pending_of(s, c)],
    }


async def handoff_json(s: AsyncSession, h: Handoff) -> dict:
    person = await s.get(Person, h.person_id)
    case = await s.get(NeedRequest, h.case_id) if h.case_id else None
    return {
        "id": h.id, "status": h.status, "priority": h.priority, "reason": h.reason, "summary": h.summary,
        "village": await area_brief(s, h.village_id),
        "person": {"id": person.id, "display_name": person.display_name} if person else None,
        "case": case.number if case else None, "claimed_by": await username(s, h.claimed_by_staff_id),
        "outcome": h.outcome, "created_at": iso(h.created_at), "claimed_at": iso(h.claimed_at),
        "closed_at": iso(h.closed_at),
    }


async def me_json(s: AsyncSession, c: Caller) -> dict:
    st = await s.get(Staff, c.scope.staff_id)
    return {"username": st.username, "display_name": st.display_name, "roles": list(st.roles or []),
            "role": c.scope.role, "areas": [a.code for a in st.areas], "via": c.via}


async def village_ids(s: AsyncSession, code: str | None) -> set[int] | None:
    if not code:
        return None
    area = await get_by_code(s, code)
    if area is None:
        raise ApiError(422, f"没有地区代码“{code}”", f"unknown area code '{code}'")
    return await area_ids_under(s, [area.id])
