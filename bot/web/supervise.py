"""The supervisor's view: the queue of their areas, each worker's load, who is on duty now and
the approvals waiting for a decision — all live, like the queue: an approval requested or
decided anywhere (web, JSON API, messenger) appears or disappears without a reload. Each poll
lists only the cases the caller may see. Supervisors and admins only; anyone else gets 404."""
from __future__ import annotations

from fastapi import APIRouter, Request

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import Caller
from bot.web import listing, live
from bot.web.rendering import lang_of, message_page, not_signed_in, page_caller, render, render_fragment, texts, to_signin
from bot.web.casework_texts import CW
from storage import agencies as agency_service
from storage import approvals, casework, routing
from storage.routing import DeskRules

router = APIRouter(include_in_schema=False)


def _allowed(who: Caller) -> bool:
    return who.scope.role in ("admin", "supervisor")


async def _pending(request: Request, s, who: Caller) -> list[dict]:
    """The approvals waiting in the caller's areas, oldest first, with what the list shows."""
    held = await approvals.pending(s, visible=authz.case_filter(who.scope))
    names = await casework.staff_names(s, {a.requested_by_staff_id for a, _ in held if a.requested_by_staff_id})
    agencies = {a.id: a for a in await agency_service.list_agencies(s, active_only=False)}
    lang = lang_of(request)
    return [{"approval": a, "case": c, "by": names.get(a.requested_by_staff_id, ""),
             "agency": agency_service.agency_name(agencies.get(a.data.get("agency_id")), lang),
             "can_approve": authz.can_approve_case(who.scope, c)} for a, c in held]


async def _fragments(request: Request, who: Caller) -> dict[str, str] | None:
    if not _allowed(who):
        return None
    t, lang, now = texts(request), lang_of(request), now_of(services_of(request))
    rules = DeskRules.from_settings(services_of(request).settings)
    async with services_of(request).db.session() as s:
        found = await listing.rows(s, who.scope, now=now, lang=lang, t=t)
        loads = await listing.workers(s, who.scope, now=now, tz=rules.tz)
        rota = [(shift, staff.display_name or staff.username) for shift, staff in await routing.on_call_rota(s, now)]
        pending = await _pending(request, s, who)
    return {"queue": render_fragment(request, "_rows.html", rows=found, list_id="queue-list", show_status=True),
            "workers": render_fragment(request, "_workers.html", workers=loads),
            "rota": render_fragment(request, "_rota.html", rota=rota, now=now),
            "approvals": render_fragment(request, "_pending_approvals.html", pending=pending, cw=CW[lang],
                                         csrf_token=who.csrf_token)}


@router.get("/supervise")
async def supervise(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    fragments = await _fragments(request, who)
    if fragments is None:
        return message_page(request, 404, texts(request)["not_found"], who)
    return render(request, "supervise.html", who=who, fragments=fragments, cw=CW[lang_of(request)])


@router.get("/supervise/events")
async def supervise_events(request: Request):
    who = await page_caller(request)
    if who is None:
        return not_signed_in(request)
    if not _allowed(who):
        return message_page(request, 404, texts(request)["not_found"], who)

    async def fragments(caller: Caller):
        return await _fragments(request, caller)

    return live.stream(request, fragments)
