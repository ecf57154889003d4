"""Broadcasts on the staff web: compose a message to an area (or an activity's participants;
admins also to everyone who consented), see how many villagers it will reach with the
opted-out, erased and unreachable left out, confirm, and follow its delivery (the report of
storage/broadcasts.py; the page refreshes its progress by htmx while it is sending).

Admins and supervisors only (bot/web/outreach_access.py); a supervisor's segments and
broadcasts are those of their areas — another area's broadcast answers 404.
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bot import authz
from bot.api.common import now_of, services_of
from bot.authz import Caller
from bot.errors import BotError
from bot.web.outreach_access import activity_choices, area_choices, not_found, outreach_caller, words
from bot.web.rendering import back_to, render, render_fragment, secure
from storage import broadcasts as broadcast_store
from storage.models import Broadcast

router = APIRouter(include_in_schema=False)

FIELDS = ("segment", "area", "activity", "text_zh", "text_en")


class _Refused(BotError):
    """The form asks for something the caller may not do, in their words."""


async def _segment(s, request: Request, who: Caller, v: dict) -> dict:
    """The storage segment of the form, within the caller's areas; _Refused(words) if not."""
    w = words(request)
    if v["segment"] == "everyone":
        if not who.scope.is_admin:
            raise _Refused(w["errors"]["county"])
        return {"everyone": True}
    if v["segment"] == "activity":
        if v["activity"] not in {str(a.id) for a in await activity_choices(s, who.scope)}:
            raise _Refused(w["errors"]["activity"])
        return {"activity": int(v["activity"])}
    if v["area"] not in {a.code for a in await area_choices(s, who.scope)}:
        raise _Refused(w["errors"]["area"])
    return {"village": v["area"]}


async def _may_see(s, who: Caller, b: Broadcast) -> bool:
    if who.scope.is_admin:
        return True
    if b.segment.get("everyone"):
        return False
    try:
        _, area_id = await broadcast_store.segment_people(s, b.segment)
    except broadcast_store.BroadcastError:
        return False
    return area_id is not None and authz.covers_area(who.scope, area_id)


def _values(form) -> dict:
    v = {k: str(form.get(k, "")).strip() for k in FIELDS}
    v["segment"] = v["segment"] if v["segment"] in ("village", "activity", "everyone") else "village"
    return v


@router.get("/broadcasts")
async def broadcast_list(request: Request):
    who, refused = await outreach_caller(request)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        rows = [{"b": b, "report": await broadcast_store.report(s, b.id)}
                for b in await broadcast_store.listing(s) if await _may_see(s, who, b)]
    return render(request, "broadcasts.html", who=who, w=words(request), rows=rows)


async def _compose(request: Request, who: Caller, *, values: dict, error: str = "", preview: dict | None = None,
                   status_code: int = 200):
    async with services_of(request).db.session() as s:
        areas, activities = await area_choices(s, who.scope), await activity_choices(s, who.scope)
    return render(request, "broadcast_new.html", status_code, who=who, w=words(request), values=values, error=error,
                  preview=preview, areas=areas, activities=activities)


@router.get("/broadcasts/new")
async def new_broadcast_page(request: Request):
    who, refused = await outreach_caller(request)
    if refused:
        return refused
    return await _compose(request, who, values={"segment": "village"})


@router.post("/broadcasts/preview")
async def preview_broadcast(request: Request):
    form = await request.form()
    who, refused = await outreach_caller(request, form)
    if refused:
        return refused
    values = _values(form)
    try:
        if not values["text_zh"]:
            raise _Refused(words(request)["errors"]["text"])
        async with services_of(request).db.session() as s:
            preview = await broadcast_store.preview(s, await _segment(s, request, who, values))
    except (_Refused, broadcast_store.BroadcastError) as exc:
        return await _compose(request, who, values=values, error=str(exc), status_code=422)
    return await _compose(request, who, values=values, preview=preview)


@router.post("/broadcasts")
async def send_broadcast(request: Request):
    form = await request.form()
    who, refused = await outreach_caller(request, form)
    if refused:
        return refused
    values = _values(form)
    services = services_of(request)
    try:
        async with services.db.session() as s:
            segment = await _segment(s, request, who, values)
            b, _ = await broadcast_store.create(s, segment, {"zh": values["text_zh"], "en": values["text_en"]},
                                                created_by=who.scope.actor, now=now_of(services))
    except (_Refused, broadcast_store.BroadcastError) as exc:
        return await _compose(request, who, values=values, error=str(exc), status_code=422)
    return back_to(f"/broadcasts/{b.id}?done=broadcast")


async def _report(request: Request, who: Caller, broadcast_id: int):
    async with services_of(request).db.session() as s:
        b = await s.get(Broadcast, broadcast_id)
        if b is None or not await _may_see(s, who, b):
            return None, None
        return b, await broadcast_store.report(s, b.id)


@router.get("/broadcasts/{broadcast_id}")
async def broadcast_page(broadcast_id: int, request: Request):
    who, refused = await outreach_caller(request)
    if refused:
        return refused
    b, report = await _report(request, who, broadcast_id)
    if b is None:
        return not_found(request, who)
    w = words(request)
    done = w["done"].get(request.query_params.get("done", ""), "")
    return render(request, "broadcast.html", who=who, w=w, b=b, report=report, done=done)


@router.get("/broadcasts/{broadcast_id}/progress")
async def broadcast_progress(broadcast_id: int, request: Request):
    """The progress block alone, for the page's htmx refresh."""
    who, refused = await outreach_caller(request)
    if refused:
        return refused
    b, report = await _report(request, who, broadcast_id)
    if b is None:
        return not_found(request, who)
    html = render_fragment(request, "_broadcast_progress.html", w=words(request), b=b, report=report)
    return secure(HTMLResponse(html))
