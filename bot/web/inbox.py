"""The web inbox: the worker's home, the live queue, a conversation with its history, notes,
attachments and the forms that claim, reply, transfer and close.

Every page asks bot/authz.py what the caller may see: a handoff outside their areas answers
404 like a missing one. Every form carries the session's CSRF token; every change goes
through bot/web/handoff_actions.py and comes back to the page (POST → 303 → GET).
"""
from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import func, select

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import AuthError, Caller
from bot.desk import service as desk
from bot.media import MediaStore
from bot.web import handoff_actions as actions
from bot.web import casework, listing, live
from bot.web.casework_texts import CW
from bot.web.dashboard_texts import DASH
from bot.web.texts import TEXTS
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
from storage import audit, routing
from storage import referrals as referral_service
from storage.cases import OPEN_STATUSES
from storage.models import Area, Handoff, Message, NeedRequest, Person, Staff
from storage.routing import DeskRules

router = APIRouter(include_in_schema=False)


def _not_found(request: Request, who: Caller | None = None):
    return message_page(request, 404, texts(request)["not_found"], who)


# ── home and queue ───────────────────────────────────────────────────────────────────────


async def _home_fragments(request: Request, who: Caller) -> dict[str, str]:
    t, lang, now = texts(request), lang_of(request), now_of(services_of(request))
    async with services_of(request).db.session() as s:
        new = await listing.rows(s, who.scope, now=now, lang=lang, t=t, status="waiting")
        mine = await listing.rows(s, who.scope, now=now, lang=lang, t=t, status="claimed",
                                  claimed_by=who.scope.staff_id)
        counts = await _open_counts(s, who.scope)
        work = await _home_casework(request, s, who, now, counts["handoffs"])
    return {"counts": render_fragment(request, "_home_counts.html", counts=counts),
            "casework": work,
            "new": render_fragment(request, "_rows.html", rows=new, list_id="new-handoffs"),
            "mine": render_fragment(request, "_rows.html", rows=mine, list_id="my-handoffs")}


async def _open_counts(s, scope) -> dict[str, int]:
    """The home page's open handoffs and cases within the caller's areas."""
    handoffs = (await s.execute(select(func.count()).select_from(Handoff).where(
        authz.handoff_filter(scope), Handoff.status == "waiting"))).scalar_one()
    cases = (await s.execute(select(func.count()).select_from(NeedRequest).where(
        authz.case_filter(scope), NeedRequest.status.in_(OPEN_STATUSES)))).scalar_one()
    return {"handoffs": handoffs, "cases": cases}


async def _home_casework(request: Request, s, who: Caller, now, handoffs: int) -> str:
    """The home's casework part: what needs action (counts), referrals waiting, and the
    caller's overdue and due-today tasks — by the clock, so a task turns overdue live."""
    scope, lang = who.scope, lang_of(request)
    tasks = await casework.due_tasks(s, scope, now)
    return render_fragment(request, "_home_casework.html", handoffs=handoffs, cw=CW[lang], d=DASH[lang],
                           overdue=[r for r in tasks if r.overdue], due_today=[r for r in tasks if not r.overdue],
                           referrals=await _referrals_waiting(s, scope, now, lang))


async def _referrals_waiting(s, scope, now, lang: str) -> list[dict]:
    """For the home page's "action needed": referrals the caller made, or on their cases, that
    the agency has not finished."""
    found = await referral_service.waiting_for(s, scope.staff_id, visible=authz.case_filter(scope))
    people = {p.id: p for p in (await s.execute(select(Person).where(
        Person.id.in_(sorted({c.person_id for _, c, _ in found}))))).scalars()} if found else {}
    return [{"number": c.number, "agency": (a.name_en or a.name) if lang == "en" else a.name, "status": r.status,
             "days": (now - r.sent_at).days, "person": listing.person_name(people.get(c.person_id), TEXTS[lang])}
            for r, c, a in found]


@router.get("/")
async def home(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    scope = who.scope
    async with services_of(request).db.session() as s:
        staff = await s.get(Staff, scope.staff_id)
        areas = [a.name if lang_of(request) == "zh" or not a.name_en else a.name_en for a in staff.areas]
        duty = None
        if scope.role in ("worker", "supervisor"):
            services = services_of(request)
            now, tz = now_of(services), DeskRules.from_settings(services.settings).tz
            overridden = bool(staff.duty_override and staff.duty_override_until and now < staff.duty_override_until)
            duty = {"on": routing.is_on_duty(staff, now, tz), "until": staff.duty_override_until if overridden else None}
    fragments = await _home_fragments(request, who) if not scope.is_viewer else {}
    done = texts(request)["done"].get(request.query_params.get("done", ""), "")
    return render(request, "home.html", who=who, staff=staff, role=scope.role, areas=areas,
                  fragments=fragments, duty=duty, done=done)


@router.post("/duty")
async def duty(request: Request):
    """The home page's switch: on or off duty until the next shift starts or ends (as /duty)."""
    form = await request.form()
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return to_signin(request)
    if who.scope.role not in ("worker", "supervisor"):
        return _not_found(request, who)
    services = services_of(request)
    async with services.db.session() as s:
        await desk.set_duty(s, who.scope, form.get("on") == "1", now=now_of(services),
                            rules=DeskRules.from_settings(services.settings))
    return back_to("/?done=duty")


async def _queue_fragments(request: Request, who: Caller) -> dict[str, str]:
    t, lang, now = texts(request), lang_of(request), now_of(services_of(request))
    async with services_of(request).db.session() as s:
        found = await listing.rows(s, who.scope, now=now, lang=lang, t=t)
    return {"queue": render_fragment(request, "_rows.html", rows=found, list_id="queue-list", show_status=True)}


@router.get("/queue")
async def queue(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    if who.scope.is_viewer:
        return _not_found(request, who)
    return render(request, "queue.html", who=who, fragments=await _queue_fragments(request, who))


@router.get("/live/{view}")
async def live_view(view: str, request: Request):
    """The event stream of the home page or the queue."""
    render_view = {"home": _home_fragments, "queue": _queue_fragments}.get(view)
    who = await page_caller(request)
    if who is None:
        return not_signed_in(request)
    if render_view is None or who.scope.is_viewer:
        return _not_found(request, who)

    async def fragments(caller: Caller):
        return await render_view(request, caller)

    return live.stream(request, fragments)


# ── one conversation ─────────────────────────────────────────────────────────────────────


async def _history_html(request: Request, s, h) -> str:
    return render_fragment(request, "_history.html", lines=await listing.history(s, h, texts(request)))


def _seen(h) -> str:
    """What the page's forms were drawn for: the status and who had claimed it."""
    return f"{h.status}:{h.claimed_by_staff_id or 0}"


async def _state_html(request: Request, s, h, *, seen: str) -> str:
    """The status line; when the handoff changed since the page was drawn (another worker
    claimed or closed it), it says so with a link to reload the forms."""
    t, lang = texts(request), lang_of(request)
    row = await listing.row_of(s, h, now=now_of(services_of(request)), lang=lang, t=t)
    village = await s.get(Area, h.village_id) if h.village_id else None
    return render_fragment(request, "_state.html", h=h, row=row, village=listing.area_name(village, lang, t),
                           case=await listing.case_number(s, h), changed=_seen(h) != seen)


async def _conversation(request: Request, who: Caller, handoff_id: int, *, error: str = "", status_code: int = 200,
                        audit_read: bool = True):
    t, lang = texts(request), lang_of(request)
    services = services_of(request)
    async with services.db.session() as s:
        h = await listing.visible_handoff(s, who.scope, handoff_id)
        if h is None:
            return _not_found(request, who)
        row = await listing.row_of(s, h, now=now_of(services), lang=lang, t=t)
        person = await s.get(Person, h.person_id)
        village = await s.get(Area, h.village_id) if h.village_id else None
        context = dict(
            h=h, row=row, history_html=await _history_html(request, s, h), seen=_seen(h),
            state_html=await _state_html(request, s, h, seen=_seen(h)), notes=await listing.notes(s, h),
            answers=await desk.list_saved(s, who.scope), case=await listing.case_number(s, h),
            targets=await listing.transfer_targets(s, h) if h.status != "closed" else [],
            attachments=[listing.shown(h.id, 0, i, a) for i, a in enumerate(h.attachments or [])
                         if isinstance(a, dict)],
            mine=h.claimed_by_staff_id == who.scope.staff_id,
            manager=who.scope.role in ("admin", "supervisor"),
            person_name=listing.person_name(person, t), village=listing.area_name(village, lang, t),
        )
        if audit_read:
            await audit.record(s, who.scope.actor, "handoff.view", f"handoff:{h.id}")
    done = t["done"].get(request.query_params.get("done", ""), "")
    return render(request, "conversation.html", status_code, who=who, error=error, done=done, **context)


@router.get("/handoffs/{handoff_id}")
async def conversation(handoff_id: int, request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    return await _conversation(request, who, handoff_id)


@router.get("/handoffs/{handoff_id}/events")
async def conversation_events(handoff_id: int, request: Request):
    who = await page_caller(request)
    if who is None:
        return not_signed_in(request)
    async with services_of(request).db.session() as s:
        if await listing.visible_handoff(s, who.scope, handoff_id) is None:
            return _not_found(request, who)
    seen = request.query_params.get("seen", "")

    async def fragments(caller: Caller):
        async with services_of(request).db.session() as s:
            h = await listing.visible_handoff(s, caller.scope, handoff_id)
            if h is None:
                return None
            return {"state": await _state_html(request, s, h, seen=seen),
                    "history": await _history_html(request, s, h)}

    return live.stream(request, fragments)


@router.get("/handoffs/{handoff_id}/files/{message_id}/{index}")
async def attachment(handoff_id: int, message_id: int, index: int, request: Request):
    """A file that came with the villager's message (message 0: the handoff's own attachments)."""
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    services = services_of(request)
    async with services.db.session() as s:
        h = await listing.visible_handoff(s, who.scope, handoff_id)
        if h is None:
            return _not_found(request, who)
        if message_id == 0:
            items = h.attachments or []
        else:
            m = await s.get(Message, message_id)
            items = (m.attachments or []) if m is not None and m.person_id == h.person_id else []
        item = items[index] if 0 <= index < len(items) and isinstance(items[index], dict) else {}
        if item.get("path"):
            await audit.record(s, who.scope.actor, "handoff.file", f"handoff:{h.id}", {"message": message_id})
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


# ── the forms ────────────────────────────────────────────────────────────────────────────


async def _act(request: Request, handoff_id: int, done: str, run):
    """Check the form's CSRF token and the caller's sight of the handoff, run the action, and
    show the conversation again (with the reason if the action was refused)."""
    form = await request.form()
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return to_signin(request)
    services = services_of(request)
    t = texts(request)
    try:
        async with services.db.session() as s:
            h = await listing.visible_handoff(s, who.scope, handoff_id)
            if h is None:
                return _not_found(request, who)
            await run(s, who, h, form, now_of(services))
    except actions.Refused as refused:
        return await _conversation(request, who, handoff_id, error=refused.message(t["errors"], lang_of(request)),
                                   status_code=refused.status, audit_read=False)
    return back_to(f"/handoffs/{handoff_id}?done={done}")


@router.post("/handoffs/{handoff_id}/claim")
async def claim(handoff_id: int, request: Request):
    async def run(s, who, h, form, now):
        await actions.claim(s, who.scope, h, now=now)
    return await _act(request, handoff_id, "claim", run)


@router.post("/handoffs/{handoff_id}/reply")
async def reply(handoff_id: int, request: Request):
    async def run(s, who, h, form, now):
        answer = str(form.get("answer", "")).strip()
        if answer.isdigit():
            await actions.reply_saved(s, who.scope, h, int(answer), now=now)
        else:
            await actions.reply(s, who.scope, h, str(form.get("text", "")), now=now)
    return await _act(request, handoff_id, "reply", run)


@router.post("/handoffs/{handoff_id}/note")
async def note(handoff_id: int, request: Request):
    async def run(s, who, h, form, now):
        await actions.note(s, who.scope, h, str(form.get("text", "")), now=now)
    return await _act(request, handoff_id, "note", run)


@router.post("/handoffs/{handoff_id}/transfer")
async def transfer(handoff_id: int, request: Request):
    async def run(s, who, h, form, now):
        await actions.transfer(s, who.scope, h, str(form.get("to", "")).strip())
    return await _act(request, handoff_id, "transfer", run)


@router.post("/handoffs/{handoff_id}/release")
async def release(handoff_id: int, request: Request):
    async def run(s, who, h, form, now):
        await actions.release(s, who.scope, h, now=now, rules=DeskRules.from_settings(services_of(request).settings))
    return await _act(request, handoff_id, "release", run)


@router.post("/handoffs/{handoff_id}/status")
async def status(handoff_id: int, request: Request):
    async def run(s, who, h, form, now):
        await actions.set_status(s, who.scope, h, str(form.get("status", "")), now=now)
    return await _act(request, handoff_id, "status", run)


@router.post("/handoffs/{handoff_id}/close")
async def close(handoff_id: int, request: Request):
    async def run(s, who, h, form, now):
        await actions.close(s, who.scope, h, str(form.get("outcome", "")), now=now)
    return await _act(request, handoff_id, "close", run)
