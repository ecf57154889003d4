"""The agencies page (/agencies): the offices and organisations cases are referred to (民政,
残联, an NGO…). Admins only: the list, adding one, and switching one off or on again (an
inactive agency is kept for the referrals made to it but offered no more). Changes go through
storage/agencies.py, which audits them; other callers get 404 like a missing page."""
from __future__ import annotations

from fastapi import APIRouter, Request

from bot.api.common import services_of
from bot.authz import AuthError, Caller
from bot.web.casework_texts import CW
from bot.web.rendering import back_to, lang_of, message_page, page_caller, render, texts, to_signin
from storage import agencies as agency_service
from storage.agencies import KINDS, AgencyError
from storage.models import Agency

router = APIRouter(include_in_schema=False)


def _not_found(request: Request, who: Caller | None = None):
    return message_page(request, 404, texts(request)["not_found"], who)


async def _page(request: Request, who: Caller, *, error: str = "", values: dict | None = None, status_code: int = 200):
    cw = CW[lang_of(request)]
    async with services_of(request).db.session() as s:
        found = await agency_service.list_agencies(s, active_only=False)
    done = cw["agency_done"].get(request.query_params.get("done", ""), "")
    return render(request, "agencies.html", status_code, who=who, cw=cw, agencies=found, kinds=KINDS, error=error,
                  done=done, values=values or {})


@router.get("/agencies")
async def agencies_page(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    if not who.scope.is_admin:
        return _not_found(request, who)
    return await _page(request, who)


async def _admin_form(request: Request):
    form = await request.form()
    try:
        who = await page_caller(request, form_csrf=str(form.get("csrf_token", "")))
    except AuthError:
        return None, None, message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return None, None, to_signin(request)
    if not who.scope.is_admin:
        return None, None, _not_found(request, who)
    return who, form, None


@router.post("/agencies")
async def add_agency(request: Request):
    who, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    values = {k: str(form.get(k, "")).strip() for k in ("code", "name", "name_en", "kind", "contact")}
    try:
        async with services_of(request).db.session() as s:
            await agency_service.add_agency(s, code=values["code"][:32], name=values["name"][:100],
                                            name_en=values["name_en"][:100], kind=values["kind"] or "government",
                                            contact=values["contact"][:200], actor=who.scope.actor)
    except AgencyError as exc:
        return await _page(request, who, error=str(exc), values=values, status_code=422)
    return back_to("/agencies?done=added")


@router.post("/agencies/{agency_id}")
async def switch_agency(agency_id: int, request: Request):
    who, form, refused = await _admin_form(request)
    if refused is not None:
        return refused
    async with services_of(request).db.session() as s:
        agency = await s.get(Agency, agency_id)
        if agency is None:
            return _not_found(request, who)
        await agency_service.change_agency(s, agency, actor=who.scope.actor, active=form.get("active") == "1")
    return back_to("/agencies?done=changed")
