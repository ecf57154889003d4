"""The staff JSON API under /api (documented at /openapi.json).

Callers authenticate with `Authorization: Bearer TOKEN` (`xiangzhu admin token`) or, from the
browser, with the web session cookie plus the `X-CSRF-Token` header on changes. Access is
decided in bot/authz.py; state changes go through the storage services, which tell the
villager through the outbox. A record outside the caller's areas answers 404, like one that
does not exist. Errors are `{"error": "<中文 / English>"}`.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.errors import BotError
from bot import authz
from bot.authz import AuthError, Caller, StaffScope
from flows.store import save_draft
from flows.validate import FlowValidationError
from storage import activities as activity_service
from storage import audit, flow_store
from storage import cases as case_service
from storage import handoffs as handoff_service
from storage import policies as policy_service
from storage import staff as staff_service
from storage.areas import area_ids_under, get_by_code
from storage.models import (
    Activity,
    Area,
    CaseEvent,
    ChannelIdentity,
    Enrollment,
    Flow,
    FlowVersion,
    Handoff,
    NeedRequest,
    Person,
    Staff,
    utcnow,
)


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


router = APIRouter(prefix="/api", tags=["staff"], dependencies=[Depends(caller)])


# ── shapes ───────────────────────────────────────────────────────────────────────────────


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


def mask_phone(phone: str) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


async def _area_brief(s: AsyncSession, area_id: int | None) -> dict | None:
    if area_id is None:
        return None
    a = await s.get(Area, area_id)
    return {"code": a.code, "name": a.name, "name_en": a.name_en} if a else None


async def _username(s: AsyncSession, staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    st = await s.get(Staff, staff_id)
    return st.username if st else None


async def case_brief(s: AsyncSession, c: NeedRequest) -> dict:
    return {
        "number": c.number, "status": c.status, "category": c.category, "urgency": c.urgency,
        "priority": c.priority, "affected": c.affected, "village": await _area_brief(s, c.village_id),
        "assignee": await _username(s, c.assigned_staff_id), "person_id": c.person_id,
        "created_at": _iso(c.created_at), "updated_at": _iso(c.updated_at), "closed_at": _iso(c.closed_at),
    }


async def case_detail(s: AsyncSession, c: NeedRequest) -> dict:
    person = await s.get(Person, c.person_id)
    events = await case_service.timeline(s, c, public_only=False)
    return {
        **await case_brief(s, c),
        "description": c.description, "phone": c.phone, "outcome": c.outcome,
        "on_behalf": c.on_behalf, "attachments": c.attachments,
        "person": {"id": person.id, "display_name": person.display_name} if person else None,
        "events": [{"kind": e.kind, "text": e.text, "data": e.data, "public": e.public,
                    "staff": await _username(s, e.staff_id), "at": _iso(e.created_at)} for e in events],
    }


async def handoff_json(s: AsyncSession, h: Handoff) -> dict:
    person = await s.get(Person, h.person_id)
    case = await s.get(NeedRequest, h.case_id) if h.case_id else None
    return {
        "id": h.id, "status": h.status, "priority": h.priority, "reason": h.reason, "summary": h.summary,
        "village": await _area_brief(s, h.village_id),
        "person": {"id": person.id, "display_name": person.display_name} if person else None,
        "case": case.number if case else None, "claimed_by": await _username(s, h.claimed_by_staff_id),
        "outcome": h.outcome, "created_at": _iso(h.created_at), "claimed_at": _iso(h.claimed_at),
        "closed_at": _iso(h.closed_at),
    }


async def me_json(s: AsyncSession, c: Caller) -> dict:
    st = await s.get(Staff, c.scope.staff_id)
    return {"username": st.username, "display_name": st.display_name, "roles": list(st.roles or []),
            "role": c.scope.role, "areas": [a.code for a in st.areas], "via": c.via}


# ── me, areas ────────────────────────────────────────────────────────────────────────────


@router.get("/me", summary="The signed-in account / 当前账号")
async def get_me(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        return await me_json(s, c)


@router.get("/areas", summary="The area tree: county → township → village")
async def get_areas(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        areas = list((await s.execute(select(Area).order_by(Area.id))).scalars())
        codes = {a.id: a.code for a in areas}
        return {"areas": [{"code": a.code, "name": a.name, "name_en": a.name_en, "level": a.level,
                           "parent": codes.get(a.parent_id), "covered": authz.covers_area(c.scope, a.id)}
                          for a in areas]}


# ── cases ────────────────────────────────────────────────────────────────────────────────


async def _village_ids(s: AsyncSession, code: str | None) -> set[int] | None:
    if not code:
        return None
    area = await get_by_code(s, code)
    if area is None:
        raise ApiError(422, f"没有地区代码“{code}”", f"unknown area code '{code}'")
    return await area_ids_under(s, [area.id])


async def _visible_case(s: AsyncSession, scope: StaffScope, number: str) -> NeedRequest:
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
        q = select(NeedRequest).where(authz.case_filter(c.scope))
        if status:
            q = q.where(NeedRequest.status == status)
        if category:
            q = q.where(NeedRequest.category == category)
        ids = await _village_ids(s, village)
        if ids is not None:
            q = q.where(NeedRequest.village_id.in_(ids))
        q = q.order_by(NeedRequest.priority, NeedRequest.created_at.desc()).limit(limit).offset(offset)
        rows = list((await s.execute(q)).scalars())
        return {"cases": [await case_brief(s, r) for r in rows]}


@router.get("/cases/summary", summary="Case counts by status, category and village (viewers too)")
async def case_summary(request: Request, village: str | None = None, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        where = [authz.aggregate_filter(c.scope, NeedRequest.village_id)]
        ids = await _village_ids(s, village)
        if ids is not None:
            where.append(NeedRequest.village_id.in_(ids))
        out: dict[str, dict] = {}
        for key, col in (("by_status", NeedRequest.status), ("by_category", NeedRequest.category)):
            rows = await s.execute(select(col, func.count()).where(*where).group_by(col))
            out[key] = {k: n for k, n in rows.all()}
        rows = await s.execute(select(Area.code, func.count()).select_from(NeedRequest)
                               .outerjoin(Area, Area.id == NeedRequest.village_id).where(*where).group_by(Area.code))
        out["by_village"] = {(k or "unknown"): n for k, n in rows.all()}
        out["total"] = sum(out["by_status"].values())
        return out


@router.get("/cases/{number}", summary="One case with its timeline and personal fields")
async def get_case(number: str, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        case = await _visible_case(s, c.scope, number)
        await audit.record(s, c.scope.actor, "case.read", case.number)
        return await case_detail(s, case)


class CasePatch(BaseModel):
    status: str | None = Field(None, description=f"one of {', '.join(case_service.STATUSES)}")
    assignee: str | None = Field(None, description="a staff username; empty string = unassign")
    outcome: str | None = None
    note: str = Field("", description="why, shown on the timeline with the status change")


async def _assignee_id(s: AsyncSession, username: str, case: NeedRequest) -> int | None:
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
        case = await _visible_case(s, c.scope, number)
        try:
            if body.assignee is not None:
                await case_service.assign_case(s, case, await _assignee_id(s, body.assignee, case),
                                               by_staff_id=c.scope.staff_id, now=now)
            if body.status is not None or body.outcome is not None:
                await case_service.set_case_status(s, case, body.status or case.status, staff_id=c.scope.staff_id,
                                                   outcome=body.outcome, note=body.note, now=now)
        except case_service.CaseError as exc:
            raise ApiError(422, "不能这样修改个案", str(exc)) from exc
        return await case_detail(s, case)


class NoteIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


@router.post("/cases/{number}/notes", status_code=201, summary="Add an internal note (not shown to the villager)")
async def add_case_note(number: str, body: NoteIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        case = await _visible_case(s, c.scope, number)
        event = await case_service.add_note(s, case, body.text, staff_id=c.scope.staff_id, now=now_of(services))
        return {"id": event.id, "kind": event.kind, "text": event.text, "at": _iso(event.created_at)}


# ── handoffs ─────────────────────────────────────────────────────────────────────────────


async def _visible_handoff(s: AsyncSession, scope: StaffScope, handoff_id: int) -> Handoff:
    h = await s.get(Handoff, handoff_id)
    if h is None or not authz.can_see_handoff(scope, h):
        raise not_found("转人工对话", "handoff")
    return h


@router.get("/handoffs", summary="Handoffs in your areas, urgent first (default: open ones)")
async def list_handoffs(request: Request, status: str | None = Query(None, description="waiting | claimed | closed"),
                        limit: int = Query(100, ge=1, le=500), c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        q = select(Handoff).where(authz.handoff_filter(c.scope))
        q = q.where(Handoff.status == status) if status else q.where(Handoff.status.in_(handoff_service.OPEN))
        q = q.order_by((Handoff.priority != "urgent"), Handoff.created_at).limit(limit)
        return {"handoffs": [await handoff_json(s, h) for h in (await s.execute(q)).scalars()]}


@router.get("/handoffs/{handoff_id}", summary="One handoff")
async def get_handoff(handoff_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        return await handoff_json(s, await _visible_handoff(s, c.scope, handoff_id))


@router.post("/handoffs/{handoff_id}/claim", summary="Claim a waiting handoff (one claimer wins)")
async def claim(handoff_id: int, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        if not await handoff_service.claim_handoff(s, h.id, c.scope.staff_id, now=now_of(services)):
            await s.refresh(h)
            who = await _username(s, h.claimed_by_staff_id)
            raise ApiError(409, f"已经被{who or '别人'}认领或已结束", f"already claimed by {who or 'someone'} or closed")
        await s.refresh(h)
        return await handoff_json(s, h)


class MessageIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


@router.post("/handoffs/{handoff_id}/messages", status_code=201, summary="Answer the villager (sent through the bot)")
async def send_message(handoff_id: int, body: MessageIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        try:
            await handoff_service.relay_to_villager(s, h, c.scope.staff_id, body.text, now=now_of(services))
        except handoff_service.HandoffError as exc:
            raise ApiError(409, "现在不能回复", str(exc)) from exc
        await audit.record(s, c.scope.actor, "handoff.message", f"handoff:{h.id}")
        return {"handoff": h.id, "queued": True}


def _may_manage(scope: StaffScope, h: Handoff) -> bool:
    return h.claimed_by_staff_id == scope.staff_id or scope.role in ("admin", "supervisor")


class TransferIn(BaseModel):
    to: str | None = Field(None, description="a staff username; null puts the handoff back in the queue")


@router.post("/handoffs/{handoff_id}/transfer", summary="Give the handoff to another worker or back to the queue")
async def transfer(handoff_id: int, body: TransferIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    async with services_of(request).db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        if not _may_manage(c.scope, h) and h.status == "claimed":
            raise ApiError(403, "只有认领的社工或督导可以转交", "only the claiming worker or a supervisor may transfer")
        to_id = None
        if body.to:
            target = await staff_service.find_staff(s, body.to)
            if target is None or not target.active:
                raise ApiError(422, f"没有在职账号“{body.to}”", f"no active staff account '{body.to}'")
            tscope = await authz.scope_for(s, target)
            if not authz.can_change_handoff(tscope, h) and not (
                    tscope.can_write and authz.covers_area(tscope, h.village_id)):
                raise ApiError(422, f"“{body.to}”不负责这个村", f"'{body.to}' does not cover this villager's village")
            to_id = target.id
        try:
            await handoff_service.transfer_handoff(s, h, to_id, by_staff_id=c.scope.staff_id)
        except handoff_service.HandoffError as exc:
            raise ApiError(409, "不能转交", str(exc)) from exc
        return await handoff_json(s, h)


class CloseIn(BaseModel):
    outcome: str = Field("", max_length=4000)


@router.post("/handoffs/{handoff_id}/close", summary="End the conversation; the villager is back with the bot")
async def close(handoff_id: int, body: CloseIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        if not _may_manage(c.scope, h) and h.status == "claimed":
            raise ApiError(403, "只有认领的社工或督导可以结束", "only the claiming worker or a supervisor may close")
        await handoff_service.close_handoff(s, h, outcome=body.outcome, by_staff_id=c.scope.staff_id,
                                            now=now_of(services))
        return await handoff_json(s, h)


# ── activities ───────────────────────────────────────────────────────────────────────────


@router.get("/activities", summary="Activities with seat counts (no personal data)")
async def list_activities(request: Request, status: str | None = Query(None, description="open | closed | cancelled"),
                          c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        q = select(Activity)
        if status:
            q = q.where(Activity.status == status)
        rows = list((await s.execute(q.order_by(Activity.starts_at.desc()).limit(500))).scalars())
        counts: dict[tuple[int, str], int] = {}
        if rows:
            got = await s.execute(select(Enrollment.activity_id, Enrollment.status, func.count())
                                  .where(Enrollment.activity_id.in_([a.id for a in rows]))
                                  .group_by(Enrollment.activity_id, Enrollment.status))
            counts = {(a, st): n for a, st, n in got.all()}
        return {"activities": [{
            "id": a.id, "kind": a.kind, "title": a.title, "title_en": a.title_en, "place": a.place,
            "starts_at": _iso(a.starts_at), "ends_at": _iso(a.ends_at), "capacity": a.capacity,
            "status": a.status, "area": await _area_brief(s, a.area_id), "audience": a.audience,
            "confirmed": counts.get((a.id, "confirmed"), 0), "waitlisted": counts.get((a.id, "waitlisted"), 0),
            "attended": counts.get((a.id, "attended"), 0),
        } for a in rows]}


@router.get("/activities/{activity_id}/enrollments", summary="The roster of an activity (names: area staff only)")
async def list_enrollments(activity_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        a = await s.get(Activity, activity_id)
        if a is None or not authz.can_see_roster(c.scope, a):
            raise not_found("活动", "activity")
        out = []
        for e in await activity_service.roster(s, a.id):
            person = await s.get(Person, e.person_id)
            out.append({"id": e.id, "status": e.status, "waitlist_position": e.waitlist_position,
                        "person_id": e.person_id, "name": e.participant_name or (person.display_name if person else ""),
                        "for_someone_else": bool(e.participant_name), "created_at": _iso(e.created_at)})
        await audit.record(s, c.scope.actor, "activity.roster.read", f"activity:{a.id}")
        return {"activity": a.id, "enrollments": out}


# ── people ───────────────────────────────────────────────────────────────────────────────


@router.get("/people", summary="Find villagers in your areas by name or phone")
async def list_people(request: Request, q: str = Query("", max_length=100), limit: int = Query(50, ge=1, le=200),
                      c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        query = select(Person).where(authz.person_filter(c.scope), Person.erased.is_(False))
        if q.strip():
            pattern = f"%{q.strip()}%"
            query = query.where(or_(Person.display_name.ilike(pattern), Person.phone.ilike(pattern)))
        rows = list((await s.execute(query.order_by(Person.id).limit(limit))).scalars())
        return {"people": [{"id": p.id, "display_name": p.display_name, "village": await _area_brief(s, p.village_id),
                            "phone": mask_phone(p.phone), "consent_given": p.consent_given} for p in rows]}


@router.get("/people/{person_id}", summary="One villager's record (the read is audited)")
async def get_person(person_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        p = await s.get(Person, person_id)
        if p is None or not authz.can_see_person(c.scope, p):
            raise not_found("村民", "person")
        channels = (await s.execute(select(ChannelIdentity.channel).where(ChannelIdentity.person_id == p.id))).scalars()
        cases = await case_service.cases_for_person(s, p.id)
        handoff = await handoff_service.open_handoff_for(s, p.id)
        await audit.record(s, c.scope.actor, "person.read", f"person:{p.id}")
        return {
            "id": p.id, "display_name": p.display_name, "phone": p.phone, "locale": p.locale,
            "village": await _area_brief(s, p.village_id), "household": p.household,
            "consent_given": p.consent_given, "consent_at": _iso(p.consent_at), "opted_out": p.opted_out,
            "erased": p.erased, "channels": sorted(set(channels)), "created_at": _iso(p.created_at),
            "last_seen_at": _iso(p.last_seen_at),
            "cases": [{"number": x.number, "status": x.status, "category": x.category} for x in cases
                      if authz.can_see_case(c.scope, x)],
            "open_handoff": handoff.id if handoff and authz.can_see_handoff(c.scope, handoff) else None,
        }


# ── content: flows and policies ──────────────────────────────────────────────────────────


def _content_reader(c: Caller) -> None:
    if not authz.can_read_content(c.scope):
        raise VIEWER_ONLY_TOTALS


def _content_editor(c: Caller) -> None:
    if not authz.can_edit_content(c.scope):
        raise ADMINS_ONLY


async def _flow_json(s: AsyncSession, flow_id: str) -> dict:
    flow = await s.get(Flow, flow_id)
    if flow is None:
        raise not_found("流程", "flow")
    versions = list((await s.execute(select(FlowVersion).where(FlowVersion.flow_id == flow_id)
                                     .order_by(FlowVersion.version.desc()))).scalars())
    current = next((v for v in versions if v.id == flow.current_version_id), None)
    latest = versions[0] if versions else None
    shown = latest or current
    return {
        "id": flow.id, "version": shown.version if shown else None, "yaml": shown.yaml if shown else "",
        "published_version": current.version if current else None,
        "draft": bool(latest and current and latest.version > current.version) or bool(latest and not current),
        "updated_at": _iso(flow.updated_at),
        "versions": [{"version": v.version, "created_by": v.created_by, "created_at": _iso(v.created_at),
                      "published_at": _iso(v.published_at)} for v in versions],
    }


@router.get("/flows", summary="All flows with their published and newest versions")
async def list_flows(request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        ids = list((await s.execute(select(Flow.id).order_by(Flow.id))).scalars())
        return {"flows": [{k: v for k, v in (await _flow_json(s, i)).items() if k != "yaml"} for i in ids]}


@router.get("/flows/{flow_id}", summary="A flow: its newest version's YAML (a draft if there is one)")
async def get_flow(flow_id: str, request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        return await _flow_json(s, flow_id)


class FlowIn(BaseModel):
    yaml: str = Field(..., min_length=1)


@router.put("/flows/{flow_id}", summary="Save a draft after validating (422 lists file:line:column errors)")
async def put_flow(flow_id: str, body: FlowIn, request: Request, c: Caller = Depends(caller)):
    _content_editor(c)
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", flow_id):
        raise ApiError(422, "流程编号只能用小写字母、数字和下划线", "a flow id is lower-case letters, digits and _")
    async with services_of(request).db.session() as s:
        try:
            await save_draft(s, flow_id, body.yaml, created_by=c.scope.actor)
        except FlowValidationError as exc:
            raise ApiError(422, "流程有错误，没有保存", "the flow has errors and was not saved",
                           errors=[str(e) for e in exc.errors]) from exc
        return await _flow_json(s, flow_id)


@router.post("/flows/{flow_id}/publish", summary="Publish the newest version; every process picks it up")
async def publish_flow(flow_id: str, request: Request, c: Caller = Depends(caller)):
    _content_editor(c)
    services = services_of(request)
    async with services.db.session() as s:
        if await s.get(Flow, flow_id) is None:
            raise not_found("流程", "flow")
        try:
            await flow_store.publish(s, flow_id, by=c.scope.actor, now=now_of(services))
        except flow_store.FlowStoreError as exc:
            raise ApiError(422, "不能发布", str(exc)) from exc
        return await _flow_json(s, flow_id)


@router.get("/policies", summary="The policy knowledge base: published versions")
async def list_policies(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        return {"policies": [{
            "id": v.policy_id, "version": v.version, "title": v.title, "summary": v.summary,
            "effective_date": v.effective_date.isoformat() if v.effective_date else None,
            "published_at": _iso(v.published_at), "sources": v.sources,
        } for v in await policy_service.current_policies(s)]}


# ── mounting ─────────────────────────────────────────────────────────────────────────────


def _error(status: int, message: str, **extra) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status,
                        headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


async def _on_api_error(request: Request, exc: ApiError):
    return _error(exc.status, exc.message, **exc.extra)


async def _on_auth_error(request: Request, exc: AuthError):
    return _error(exc.status, exc.message)


async def _on_validation(request: Request, exc: RequestValidationError):
    if not _is_api(request):
        return await request_validation_exception_handler(request, exc)
    details = [f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg', '')}" for e in exc.errors()]
    return _error(422, "请求的内容不对 / the request is not valid: " + "; ".join(details), details=details)


async def _on_http(request: Request, exc: StarletteHTTPException):
    if not _is_api(request):
        return await http_exception_handler(request, exc)
    words = {404: ("没有这个地址", "no such address"), 405: ("不支持这个方法", "method not allowed")}
    zh, en = words.get(exc.status_code, ("请求出错", str(exc.detail)))
    return _error(exc.status_code, f"{zh} / {en}")


def mount(app: FastAPI, services) -> None:
    """Add the /api routes and their JSON error handling to the application."""
    if getattr(app.state, "services", None) is None:
        app.state.services = services
    app.include_router(router)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(AuthError, _on_auth_error)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
