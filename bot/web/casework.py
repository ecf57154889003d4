"""Casework on the staff web: the case list with filters, search and saved views, and a case
with its timeline, assignment, stage and outcome, plan, tasks, referrals, and its matches to
offers of help with the three best-ranked offers (proposing one posts to the match page's
handler in bot/web/offers.py).

Access as everywhere (bot/authz.py): a case outside the caller's areas answers 404 like a
missing one; viewers see no case. Every form carries the session's CSRF token; a change goes
through storage/casework.py or storage/referrals.py (audited there) and comes back to the
page (POST → 303 → GET). Opening a case is audited as `case.view`. The case page's LIVE_PARTS
come over its event stream (bot/web/live.py) when anyone changes them, anywhere.
"""
from __future__ import annotations

import mimetypes
from dataclasses import replace
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import AuthError, Caller, StaffScope
from bot.errors import BotError
from bot.media import MediaStore
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
    secure,
    texts,
    to_signin,
)
from storage import agencies as agency_service
from storage import approvals, audit, casework, flags, saved_views
from storage import cases as case_service
from storage import offers as offer_service
from storage import referrals as referral_service
from storage import staff as staff_service
from storage.areas import area_ids_under, get_by_code
from storage.cases import OPEN_STATUSES, STATUSES, URGENCIES, CaseError
from storage.models import Area, CaseApproval, Message, NeedRequest, Offer, Person, Staff
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
        mine = await saved_views.views_of(s, who.scope.staff_id)
    current = saved_views.clean_query(str(request.url.query), FILTERS)
    done = _cw(request)["done"].get(request.query_params.get("done", ""), "")
    return render(request, "cases.html", who=who, cw=_cw(request), rows=rows, params=params,
                  statuses=STATUSES, stages=casework.STAGES, categories=CATEGORIES, urgencies=URGENCIES,
                  saved=mine, current_query=current, done=done)


async def _views_form(request: Request):
    form = await request.form()
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return None, None, message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return None, None, to_signin(request)
    if who.scope.is_viewer:
        return None, None, _not_found(request, who)
    return who, form, None


@router.post("/cases/views")
async def save_view(request: Request):
    """Save the list's current filters as one of the caller's views (name + query string)."""
    who, form, refused = await _views_form(request)
    if refused:
        return refused
    try:
        async with services_of(request).db.session() as s:
            view = await saved_views.save_view(s, who.scope.staff_id, str(form.get("name", "")),
                                               str(form.get("query", "")), allowed=FILTERS)
    except saved_views.SavedViewError as exc:
        return message_page(request, 422, str(exc), who)
    return back_to(f"/cases?{view.query + '&' if view.query else ''}done=view_saved")


@router.post("/cases/views/{view_id}/delete")
async def delete_view(view_id: int, request: Request):
    who, form, refused = await _views_form(request)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        if not await saved_views.delete_view(s, who.scope.staff_id, view_id):
            return _not_found(request, who)
    return back_to("/cases?done=view_deleted")


MAX_FILES = 40  # the case page shows at most this many of the villager's files


async def _case_messages(s: AsyncSession, case: NeedRequest) -> list[Message]:
    """The villager's own messages with files while the case was open (from a day before it was
    opened: the photo usually comes first), oldest first."""
    q = select(Message).where(Message.person_id == case.person_id, Message.direction == "in",
                              Message.created_at >= case.created_at - timedelta(days=1))
    if case.closed_at is not None:
        q = q.where(Message.created_at <= case.closed_at)
    found = [m for m in (await s.execute(q.order_by(Message.id))).scalars() if m.attachments]
    return found[-MAX_FILES:]


def _case_file_url(number: str, message_id: int, index: int, a: dict) -> listing.Shown:
    shown = listing.shown(0, message_id, index, a)
    return replace(shown, url=f"/cases/{number}/files/{message_id}/{index}" if a.get("path") else "")


async def case_files(s: AsyncSession, case: NeedRequest) -> list[listing.Shown]:
    """The photos and voice notes that came with the case and the villager's messages (message
    0: the case's own), each served by /cases/{number}/files/… after the area check."""
    files = [_case_file_url(case.number, 0, i, a) for i, a in enumerate(case.attachments or []) if isinstance(a, dict)]
    for m in await _case_messages(s, case):
        files += [_case_file_url(case.number, m.id, i, a) for i, a in enumerate(m.attachments) if isinstance(a, dict)]
    return [f for f in files if f.url or f.text][:MAX_FILES]


async def _visible(s: AsyncSession, scope: StaffScope, number: str) -> NeedRequest | None:
    case = await case_service.get_case(s, number)
    return case if case is not None and authz.can_see_case(scope, case) else None


LIVE_PARTS = ("facts", "flags", "plan", "tasks", "referrals", "approvals", "timeline")


async def _live_context(request: Request, s: AsyncSession, scope: StaffScope, case: NeedRequest,
                        today: date) -> dict:
    """What the case page's live parts show (LIVE_PARTS): the facts (status, stage, assignee),
    flags, plan, tasks, referrals, approvals and timeline, as `scope` may act on them."""
    t, lang = texts(request), lang_of(request)
    person = await s.get(Person, case.person_id)
    village = await s.get(Area, case.village_id) if case.village_id else None
    agencies = await agency_service.list_agencies(s, active_only=False)
    plan = await casework.plan_items(s, case)
    tasks = await casework.tasks_of(s, case)
    referrals = await referral_service.referrals_of(s, case)
    events = await case_service.timeline(s, case, public_only=False)
    person_flags = await flags.flags_of(s, case.person_id, active_only=False)
    next_checkin = {f.id: await flags.next_checkin(s, f) for f in person_flags if f.cleared_at is None}
    held = await approvals.pending_of(s, case)
    staff_ids = {x for x in [case.assigned_staff_id, *(e.staff_id for e in events), *(i.staff_id for i in plan),
                             *(a.requested_by_staff_id for a in held),
                             *(k.assignee_staff_id for k in tasks), *(f.staff_id for f in person_flags)] if x}
    names = await casework.staff_names(s, staff_ids)
    return dict(
        case=case, person_name=listing.person_name(person, t), village=listing.area_name(village, lang, t),
        assignee=names.get(case.assigned_staff_id, ""), names=names, plan=plan, tasks=tasks, referrals=referrals,
        events=events, today=today, all_agencies=agencies, agency_by_id={a.id: a for a in agencies},
        agency_name=lambda a: agency_service.agency_name(a, lang),
        can_change=authz.can_change_case(scope, case), overdue=lambda k: casework.is_overdue(k, today),
        flags=person_flags, next_checkin=next_checkin,
        approvals=held, can_approve=authz.can_approve_case(scope, case),
    )


def _render_live(request: Request, context: dict, csrf_token: str) -> dict[str, str]:
    """The live parts' HTML, {event name: HTML}: the page embeds them, the stream sends them."""
    return {part: render_fragment(request, f"_case_{part}.html", cw=_cw(request), csrf_token=csrf_token, **context)
            for part in LIVE_PARTS}


async def _detail(request: Request, who: Caller, number: str, *, error: str = "", status_code: int = 200,
                  audit_read: bool = True):
    lang, cw = lang_of(request), _cw(request)
    services = services_of(request)
    today = casework.local_day(now_of(services))
    async with services.db.session() as s:
        case = await _visible(s, who.scope, number)
        if case is None:
            return _not_found(request, who)
        context = await _live_context(request, s, who.scope, case, today)
        files = await case_files(s, case)
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
    done = cw["done"].get(request.query_params.get("done", ""), "")
    return render(request, "case.html", status_code, who=who, cw=cw, error=error, done=done,
                  live=_render_live(request, context, who.csrf_token),
                  agencies=[a for a in context["all_agencies"] if a.active], colleagues=colleagues,
                  stages=casework.STAGES, files=files, matches=matches, match_offers=match_offers,
                  top_offers=top_offers, case_open=case.status in OPEN_STATUSES,
                  match_status=offer_service.MATCH_STATUS_WORDS[lang], **context)


@router.get("/cases/{number}/events")
async def case_events(number: str, request: Request):
    """The case page's live parts (bot/web/live.py): whatever another worker changes — on the
    web, through the JSON API or from the messenger — reaches an open page without a reload.
    Each poll checks again that the caller may see the case (the stream ends when not)."""
    who = await page_caller(request)
    if who is None:
        return not_signed_in(request)
    async with services_of(request).db.session() as s:
        if await _visible(s, who.scope, number) is None:
            return _not_found(request, who)

    async def fragments(caller: Caller):
        services = services_of(request)
        async with services.db.session() as s:
            case = await _visible(s, caller.scope, number)
            if case is None:
                return None
            context = await _live_context(request, s, caller.scope, case, casework.local_day(now_of(services)))
        return _render_live(request, context, caller.csrf_token)

    return live.stream(request, fragments)


@router.get("/cases/{number}/files/{message_id}/{index}")
async def case_file(number: str, message_id: int, index: int, request: Request):
    """A file the villager sent with the case (message 0) or one of their messages: only to staff
    who may see the case, never by a public URL; the read is audited as `case.file`."""
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    services = services_of(request)
    async with services.db.session() as s:
        case = await _visible(s, who.scope, number)
        if case is None:
            return _not_found(request, who)
        if message_id == 0:
            items = case.attachments or []
        else:
            m = await s.get(Message, message_id)
            items = (m.attachments or []) if m is not None and m.person_id == case.person_id else []
        item = items[index] if 0 <= index < len(items) and isinstance(items[index], dict) else {}
        if item.get("path"):
            await audit.record(s, who.scope.actor, "case.file", case.number, {"message": message_id, "index": index})
    try:
        path = MediaStore(services.settings.media_dir).resolve(str(item.get("path", "")))
    except ValueError:
        return _not_found(request, who)
    if not item.get("path") or not path.is_file():
        return _not_found(request, who)
    mime = str(item.get("mime") or "") or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = FileResponse(path, media_type=mime.split(";")[0])
    response.headers["Content-Disposition"] = "inline"
    return secure(response)


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
            result = await run(s, who, case, form, now_of(services))
            done = result if isinstance(result, str) else done
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
        note = str(form.get("note", "")).strip()[:4000]
        if str(form.get("stage", "")) == "closed":
            held = await approvals.close_or_request(s, case, staff_id=who.scope.staff_id, outcome=outcome, note=note,
                                                    approver=authz.can_approve_case(who.scope, case), now=now)
            return "approval_requested" if held else None
        await casework.set_stage(s, case, str(form.get("stage", "")), staff_id=who.scope.staff_id, outcome=outcome,
                                 note=note, now=now)
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
        made = await approvals.refer_or_request(s, case, agency, str(form.get("reason", "")),
                                                staff_id=who.scope.staff_id,
                                                approver=authz.can_approve_case(who.scope, case), now=now)
        return "approval_requested" if isinstance(made, CaseApproval) else None
    return await _act(request, number, "referral", run)


@router.post("/cases/{number}/approvals/{approval_id}")
async def decide_approval(number: str, approval_id: int, request: Request):
    """The supervisor's one tap: decision=approve performs the held close or referral,
    decision=decline tells the worker who asked."""
    async def run(s, who, case, form, now):
        if not authz.can_approve_case(who.scope, case):
            raise _Refused(_cw(request)["only_approvers"])
        approval = await s.get(CaseApproval, approval_id)
        if approval is None or approval.case_id != case.id:
            raise _Refused(texts(request)["not_found"])
        approve = form.get("decision") == "approve"
        await approvals.decide(s, approval, case, approve, by_staff_id=who.scope.staff_id,
                               note=str(form.get("note", "")), now=now)
        return "approved" if approve else "declined"
    return await _act(request, number, "approved", run)


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
