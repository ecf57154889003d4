"""Casework on the staff web: the case list with filters, search and saved views, and a case
with its timeline, assignment, stage and outcome, plan, tasks, referrals, and its matches to
offers of help with the three best-ranked offers (proposing one posts to the match page's
handler in bot/web/offers.py).

Access as everywhere (bot/authz.py): a case outside the caller's areas answers 404 like a
missing one; viewers see no case. Every form carries the session's CSRF token; a change goes
through storage/casework.py or storage/referrals.py (audited there) and comes back to the
page (POST → 303 → GET). Opening a case is audited as `case.view`.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import AuthError, Caller, StaffScope
from bot.errors import BotError
from bot.web import listing, live
from bot.web.casework_texts import CW
from bot.web.rendering import (
    back_to,
    lang_of,
    message_page,
    not_signed_in,
    page_caller,
    render,
    render_fragment,
    texts,
    to_signin,
)
from storage import agencies as agency_service
from storage import audit, casework, flags
from storage import cases as case_service
from storage import offers as offer_service
from storage import referrals as referral_service
from storage import staff as staff_service
from storage.areas import area_ids_under, get_by_code
from storage.cases import OPEN_STATUSES, STATUSES, URGENCIES, CaseError
from storage.models import Area, NeedRequest, Offer, Person, Staff
from vocab.cases import CATEGORIES

router = APIRouter(include_in_schema=False)

FILTERS = ("status", "stage", "category", "urgency", "village", "assignee", "overdue", "flagged", "older", "q")
MAX_AGE_DAYS = 3650
TOP_OFFERS = 3


def _cw(request: Request) -> dict:
    return CW[lang_of(request)]


def _not_found(request: Request, who: Caller | None = None):
    return message_page(request, 404, texts(request)["not_found"], who)


async def _townships_of(s: AsyncSession, scope: StaffScope) -> set[int]:
    """The villages of the caller's townships: a township assigned, or the township above an assigned village."""
    staff = await s.get(Staff, scope.staff_id)
    townships = set()
    for area in staff.areas:
        if area.level == "township":
            townships.add(area.id)
        elif area.level == "village" and area.parent_id:
            townships.add(area.parent_id)
    return set(await area_ids_under(s, sorted(townships))) if townships else set()


def _older_than(params: dict, now: datetime) -> datetime | None:
    """`older=N`: cases opened more than N days ago (anything but a whole number is ignored)."""
    raw = params.get("older", "").strip()
    if not raw.isdigit():
        return None
    return now - timedelta(days=min(int(raw), MAX_AGE_DAYS))


async def _query(s: AsyncSession, scope: StaffScope, params: dict, now: datetime) -> casework.CaseQuery:
    q = casework.CaseQuery(status=params.get("status", "") if params.get("status") in STATUSES else "",
                           stage=params.get("stage", "") if params.get("stage") in casework.STAGES else "",
                           category=params.get("category", "") if params.get("category") in CATEGORIES else "",
                           urgency=params.get("urgency", "") if params.get("urgency") in URGENCIES else "",
                           overdue=params.get("overdue") == "1", text=params.get("q", "")[:100],
                           flagged=params.get("flagged") == "1", created_before=_older_than(params, now))
    view = params.get("view", "")
    if view == "my-overdue":
        q.overdue, q.overdue_for = True, scope.staff_id
    elif view == "unassigned-township":
        q.assignee_id, q.village_ids = casework.UNASSIGNED, await _townships_of(s, scope)
    assignee = params.get("assignee", "")
    if assignee == "me":
        q.assignee_id = scope.staff_id
    elif assignee == casework.UNASSIGNED:
        q.assignee_id = casework.UNASSIGNED
    elif assignee:
        found = await staff_service.find_staff(s, assignee)
        q.assignee_id = found.id if found else -1
    code = params.get("village", "")
    if code:
        area = await get_by_code(s, code)
        q.village_ids = set(await area_ids_under(s, [area.id])) if area else set()
    return q


@router.get("/cases")
async def case_list(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    if who.scope.is_viewer:
        return _not_found(request, who)
    t, lang = texts(request), lang_of(request)
    params = {k: v for k, v in request.query_params.items() if k in (*FILTERS, "view")}
    async with services_of(request).db.session() as s:
        now = now_of(services_of(request))
        query = await _query(s, who.scope, params, now)
        found = await casework.find_cases(s, query, visible=authz.case_filter(who.scope), today=casework.local_day(now))
        flagged = await casework.flagged_people(s, {c.person_id for c in found})
        names = await casework.staff_names(s, {c.assigned_staff_id for c in found if c.assigned_staff_id})
        villages = {a.id: a for a in (await s.execute(select(Area).where(
            Area.id.in_({c.village_id for c in found if c.village_id})))).scalars()}
        rows = [{"case": c, "village": listing.area_name(villages.get(c.village_id), lang, t),
                 "assignee": names.get(c.assigned_staff_id, ""), "flagged": c.person_id in flagged} for c in found]
        await audit.record(s, who.scope.actor, "case.list", "", {k: v for k, v in params.items() if k != "q"})
    return render(request, "cases.html", who=who, cw=_cw(request), rows=rows, params=params,
                  statuses=STATUSES, stages=casework.STAGES, categories=CATEGORIES, urgencies=URGENCIES)


async def _visible(s: AsyncSession, scope: StaffScope, number: str) -> NeedRequest | None:
    case = await case_service.get_case(s, number)
    return case if case is not None and authz.can_see_case(scope, case) else None


async def _detail(request: Request, who: Caller, number: str, *, error: str = "", status_code: int = 200,
                  audit_read: bool = True):
    t, lang, cw = texts(request), lang_of(request), _cw(request)
    services = services_of(request)
    today = casework.local_day(now_of(services))
    async with services.db.session() as s:
        case = await _visible(s, who.scope, number)
        if case is None:
            return _not_found(request, who)
        person = await s.get(Person, case.person_id)
        village = await s.get(Area, case.village_id) if case.village_id else None
        agencies = await agency_service.list_agencies(s, active_only=False)
        by_id = {a.id: a for a in agencies}
        plan = await casework.plan_items(s, case)
        tasks = await casework.tasks_of(s, case)
        referrals = await referral_service.referrals_of(s, case)
        events = await case_service.timeline(s, case, public_only=False)
        person_flags = await flags.flags_of(s, case.person_id, active_only=False)
        next_checkin = {f.id: await flags.next_checkin(s, f) for f in person_flags if f.cleared_at is None}
        staff_ids = {x for x in [case.assigned_staff_id, *(e.staff_id for e in events), *(i.staff_id for i in plan),
                                 *(k.assignee_staff_id for k in tasks), *(f.staff_id for f in person_flags)] if x}
        names = await casework.staff_names(s, staff_ids)
        colleagues = [st for st in (await s.execute(select(Staff).where(Staff.active.is_(True))
                                                    .order_by(Staff.username))).scalars()
                      if "viewer" not in st.roles or len(st.roles) > 1]
        colleagues = [st for st in colleagues
                      if authz.covers_area(await authz.scope_for(s, st), case.village_id)]
        matches = await offer_service.matches_for(s, case_id=case.id)
        match_offers = {m.offer_id: await s.get(Offer, m.offer_id) for m in matches}
        linked = {m.offer_id for m in matches if m.status in offer_service.ACTIVE_MATCH}
        top_offers = [c for c in await offer_service.offers_for_case(s, case, now=now_of(services))
                      if c.offer.id not in linked][:TOP_OFFERS] if case.status in OPEN_STATUSES else []
        if audit_read:
            await audit.record(s, who.scope.actor, "case.view", case.number)
    context = dict(
        case=case, person_name=listing.person_name(person, t), village=listing.area_name(village, lang, t),
        assignee=names.get(case.assigned_staff_id, ""), names=names, plan=plan, tasks=tasks, referrals=referrals,
        events=events, today=today, agencies=[a for a in agencies if a.active], agency_by_id=by_id,
        agency_name=lambda a: agency_service.agency_name(a, lang), colleagues=colleagues,
        can_change=authz.can_change_case(who.scope, case), stages=casework.STAGES,
        overdue=lambda k: casework.is_overdue(k, today), flags=person_flags, next_checkin=next_checkin,
        matches=matches, match_offers=match_offers, top_offers=top_offers,
        case_open=case.status in OPEN_STATUSES,
        match_status=offer_service.MATCH_STATUS_WORDS[lang],
    )
    done = cw["done"].get(request.query_params.get("done", ""), "")
    timeline_html = render_fragment(request, "_case_timeline.html", cw=cw, events=events, names=names)
    return render(request, "case.html", status_code, who=who, cw=cw, error=error, done=done,
                  timeline_html=timeline_html, **context)


@router.get("/cases/{number}/events")
async def case_events(number: str, request: Request):
    """The case page's live timeline (bot/web/live.py): new messages, notes, stage and status
    changes, tasks and referrals appear without a reload."""
    who = await page_caller(request)
    if who is None:
        return not_signed_in(request)
    async with services_of(request).db.session() as s:
        if await _visible(s, who.scope, number) is None:
            return _not_found(request, who)

    async def fragments(caller: Caller):
        async with services_of(request).db.session() as s:
            case = await _visible(s, caller.scope, number)
            if case is None:
                return None
            events = await case_service.timeline(s, case, public_only=False)
            names = await casework.staff_names(s, {e.staff_id for e in events if e.staff_id})
            return {"timeline": render_fragment(request, "_case_timeline.html", cw=_cw(request), events=events,
                                                names=names)}

    return live.stream(request, fragments)


@router.get("/cases/{number}")
async def case_page(number: str, request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    return await _detail(request, who, number)


class _Refused(BotError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def _act(request: Request, number: str, done: str, run):
    form = await request.form()
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return to_signin(request)
    services = services_of(request)
    try:
        async with services.db.session() as s:
            case = await _visible(s, who.scope, number)
            if case is None or not authz.can_change_case(who.scope, case):
                return _not_found(request, who)
            await run(s, who, case, form, now_of(services))
    except (CaseError, _Refused) as exc:
        message = exc.message if isinstance(exc, _Refused) else str(exc)
        return await _detail(request, who, number, error=message, status_code=422, audit_read=False)
    return back_to(f"/cases/{number}?done={done}")


async def _colleague(s: AsyncSession, request: Request, username: str, case: NeedRequest) -> int:
    target = await staff_service.find_staff(s, username)
    if target is None or not target.active:
        raise _Refused(_cw(request)["no_staff"].format(who=username))
    scope = await authz.scope_for(s, target)
    if not (scope.can_write and authz.covers_area(scope, case.village_id)):
        raise _Refused(_cw(request)["no_staff"].format(who=username))
    return target.id


def _date(request: Request, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _Refused(_cw(request)["bad_date"]) from None


@router.post("/cases/{number}/assign")
async def assign(number: str, request: Request):
    async def run(s, who, case, form, now):
        username = str(form.get("to", "")).strip()
        staff_id = await _colleague(s, request, username, case) if username else None
        await case_service.assign_case(s, case, staff_id, by_staff_id=who.scope.staff_id, now=now)
    return await _act(request, number, "assign", run)


@router.post("/cases/{number}/stage")
async def stage(number: str, request: Request):
    async def run(s, who, case, form, now):
        outcome = str(form.get("outcome", "")).strip() or None
        await casework.set_stage(s, case, str(form.get("stage", "")), staff_id=who.scope.staff_id, outcome=outcome,
                                 note=str(form.get("note", "")).strip()[:4000], now=now)
    return await _act(request, number, "stage", run)


@router.post("/cases/{number}/plan")
async def add_plan(number: str, request: Request):
    async def run(s, who, case, form, now):
        kind, _, value = str(form.get("who", "")).partition(":")
        staff_id = await _colleague(s, request, value, case) if kind == "staff" and value else None
        agency = await agency_service.find_agency(s, value) if kind == "agency" and value else None
        await casework.add_plan_item(s, case, str(form.get("what", "")), by_staff_id=who.scope.staff_id,
                                     staff_id=staff_id, agency_id=agency.id if agency else None,
                                     due_on=_date(request, str(form.get("due", ""))), now=now)
    return await _act(request, number, "plan", run)


@router.post("/cases/{number}/plan/{item_id}")
async def change_plan(number: str, item_id: int, request: Request):
    async def run(s, who, case, form, now):
        await casework.set_plan_status(s, case, item_id, str(form.get("status", "")),
                                       by_staff_id=who.scope.staff_id, now=now)
    return await _act(request, number, "plan", run)


@router.post("/cases/{number}/tasks")
async def add_task(number: str, request: Request):
    async def run(s, who, case, form, now):
        due = _date(request, str(form.get("due", "")))
        if due is None:
            raise _Refused(_cw(request)["bad_date"])
        username = str(form.get("assignee", "")).strip()
        assignee = await _colleague(s, request, username, case) if username else None
        await casework.add_task(s, case, str(form.get("title", "")), due, by_staff_id=who.scope.staff_id,
                                assignee_staff_id=assignee, now=now)
    return await _act(request, number, "task", run)


@router.post("/cases/{number}/tasks/{task_id}")
async def change_task(number: str, task_id: int, request: Request):
    async def run(s, who, case, form, now):
        await casework.set_task_done(s, case, task_id, form.get("done") == "1", by_staff_id=who.scope.staff_id,
                                     now=now)
    return await _act(request, number, "task", run)


@router.post("/cases/{number}/referrals")
async def refer(number: str, request: Request):
    async def run(s, who, case, form, now):
        agency = await agency_service.find_agency(s, str(form.get("agency", "")))
        if agency is None:
            raise _Refused(_cw(request)["no_agency"])
        await referral_service.refer(s, case, agency, str(form.get("reason", "")), by_staff_id=who.scope.staff_id,
                                     now=now)
    return await _act(request, number, "referral", run)


@router.post("/cases/{number}/referrals/{referral_id}")
async def change_referral(number: str, referral_id: int, request: Request):
    async def run(s, who, case, form, now):
        await referral_service.set_referral_status(s, case, referral_id, str(form.get("status", "")),
                                                   by_staff_id=who.scope.staff_id,
                                                   note=str(form.get("note", "")), now=now)
    return await _act(request, number, "referral_status", run)


async def overdue_tasks(s: AsyncSession, scope: StaffScope, now) -> list[casework.TaskRow]:
    """For the home page: the caller's tasks past their day."""
    return await casework.open_tasks_for(s, scope.staff_id, today=casework.local_day(now), overdue_only=True,
                                         visible=authz.case_filter(scope))
