"""Resource linking on the staff web: offers of help (list, register, review, the cases an
offer could serve) and the "find a match" page of a case (propose, confirm — both sides are
told —, delivered). The rules live in storage/offers.py, access in bot/authz.py."""
from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request

from bot import authz
from bot.api.common import now_of, services_of
from bot.api.offers import mask_contact
from bot.authz import AuthError
from bot.web.rendering import back_to, lang_of, message_page, page_caller, render, texts, to_signin
from storage import cases as case_service
from storage import offers as offer_service
from storage.areas import all_areas
from storage.models import Area, Match, NeedRequest, Offer
from vocab.cases import CATEGORIES, CATEGORY_WORDS

router = APIRouter(include_in_schema=False)

WORDS = {
    "zh": {
        "offers": "帮助资源", "new_offer": "登记帮助", "offerer": "提供方", "kind": "类型", "name": "名字",
        "categories": "能帮的类别", "description": "内容", "quantity": "数量", "remaining": "剩余", "unit": "单位",
        "area": "服务地区", "county_wide": "全县", "from": "开始日期", "until": "结束日期", "conditions": "条件",
        "contact": "联系方式", "status": "状态", "register": "登记", "approve": "通过", "block": "停用",
        "note": "说明", "could_serve": "可以帮助的个案", "matches": "配对", "find_match": "找帮助",
        "candidates": "合适的帮助（同类优先，近的优先）", "propose": "配对", "confirm": "确认（告诉双方）",
        "when": "什么时候（告诉村民）", "called": "已打电话和提供方确认", "deliver": "已送达",
        "receipt": "村民说收到了", "no_candidates": "暂时没有合适的帮助。", "exact": "同类", "general": "综合",
        "place": {"village": "同村", "township": "同镇", "county": "全县"}, "via_bot": "通过机器人登记",
        "log": "沟通记录", "case": "个案", "urgency": "紧急程度", "created": "登记于",
        "done": {"created": "已登记，等待审核。", "approved": "已通过。", "blocked": "已停用。",
                 "proposed": "已配对，请和提供方确认。", "confirmed": "已确认，已通知村民和提供方。",
                 "delivered": "已标记送达，已请村民确认。", "receipt": "已记录收到。"},
    },
    "en": {
        "offers": "Offers of help", "new_offer": "Register an offer", "offerer": "Offered by", "kind": "Kind",
        "name": "Name", "categories": "Kinds of need", "description": "What", "quantity": "Quantity",
        "remaining": "Left", "unit": "Unit", "area": "Area served", "county_wide": "whole county",
        "from": "Available from", "until": "Available until", "conditions": "Conditions", "contact": "Contact",
        "status": "Status", "register": "Register", "approve": "Approve", "block": "Block", "note": "Note",
        "could_serve": "Cases it could serve", "matches": "Matches", "find_match": "Find help",
        "candidates": "Offers that fit (same kind first, nearest first)", "propose": "Match",
        "confirm": "Confirm (both sides are told)", "when": "When (told to the villager)",
        "called": "I called the offerer, who agreed", "deliver": "Delivered", "receipt": "The villager got it",
        "no_candidates": "No offer fits yet.", "exact": "same kind", "general": "general help",
        "place": {"village": "same village", "township": "same township", "county": "county"},
        "via_bot": "registered through the bot", "log": "Communication log", "case": "Case",
        "urgency": "Urgency", "created": "Registered",
        "done": {"created": "Registered; waiting for review.", "approved": "Approved.", "blocked": "Blocked.",
                 "proposed": "Matched; confirm it with the offerer.",
                 "confirmed": "Confirmed; the villager and the offerer were told.",
                 "delivered": "Marked delivered; the villager was asked to confirm.", "receipt": "Receipt recorded."},
    },
}


def _ctx(request: Request) -> dict:
    lang = lang_of(request)
    return {"o": WORDS[lang], "kinds": offer_service.OFFERER_WORDS[lang], "cats": CATEGORY_WORDS[lang],
            "offer_status": offer_service.OFFER_STATUS_WORDS[lang],
            "match_status": offer_service.MATCH_STATUS_WORDS[lang], "units": offer_service.UNITS,
            "mask": mask_contact, "done": WORDS[lang]["done"].get(request.query_params.get("done", ""), "")}


async def _caller(request: Request, form=None):
    try:
        who = await page_caller(request, form_csrf=None if form is None else str(form.get("csrf_token", "")))
    except AuthError:
        return None, message_page(request, 403, texts(request)["csrf"])
    if who is None:
        return None, to_signin(request) if form is None else message_page(request, 403, texts(request)["csrf"])
    if who.scope.is_viewer:
        return None, message_page(request, 404, texts(request)["not_found"], who)
    return who, None


async def _area_names(s) -> dict[int, Area]:
    return {a.id: a for a in await all_areas(s)}


@router.get("/offers")
async def offers_page(request: Request):
    who, refused = await _caller(request)
    if refused:
        return refused
    async with services_of(request).db.session() as s:
        ids = await authz.offer_area_ids(s, who.scope)
        rows = await offer_service.list_offers(s, status=request.query_params.get("status") or None,
                                               visible=offer_service.offer_area_filter(ids))
        return render(request, "offers.html", who=who, offers=rows, areas=await _area_names(s), **_ctx(request))


async def _form_page(request: Request, who, *, error: str = "", values: dict | None = None, status_code: int = 200):
    async with services_of(request).db.session() as s:
        ids = await authz.offer_area_ids(s, who.scope)
        areas = [a for a in await all_areas(s) if ids is None or a.id in ids]
    return render(request, "offer_new.html", status_code, who=who, error=error, values=values or {},
                  area_choices=areas, categories=CATEGORIES, **_ctx(request))


@router.get("/offers/new")
async def new_offer_page(request: Request):
    who, refused = await _caller(request)
    if refused:
        return refused
    return await _form_page(request, who)


def _date(value) -> date | None:
    value = str(value or "").strip()
    return date.fromisoformat(value) if value else None


@router.post("/offers")
async def create_offer(request: Request):
    form = await request.form()
    who, refused = await _caller(request, form)
    if refused:
        return refused
    services = services_of(request)
    values = {k: str(form.get(k, "")) for k in ("offerer_kind", "offerer_name", "description", "quantity", "unit",
                                                "area", "available_from", "available_until", "conditions", "contact")}
    values["categories"] = [str(c) for c in form.getlist("categories")]
    try:
        async with services.db.session() as s:
            ids = await authz.offer_area_ids(s, who.scope)
            area_id = int(values["area"]) if values["area"] else None
            if area_id is not None and ids is not None and area_id not in ids:
                raise offer_service.OfferError("这个地区不归您管 / that area is outside yours")
            offer = await offer_service.create_offer(
                s, offerer_kind=values["offerer_kind"], offerer_name=values["offerer_name"],
                categories=values["categories"], description=values["description"],
                quantity=int(values["quantity"] or 1), unit=values["unit"], area_id=area_id,
                available_from=_date(values["available_from"]), available_until=_date(values["available_until"]),
                conditions=values["conditions"], contact=values["contact"], created_by_staff_id=who.scope.staff_id,
                now=now_of(services))
            offer_id = offer.id
    except (offer_service.OfferError, ValueError) as exc:
        return await _form_page(request, who, error=str(exc), values=values, status_code=422)
    return back_to(f"/offers/{offer_id}?done=created")


async def _visible_offer(s, who, offer_id: int) -> Offer | None:
    offer = await s.get(Offer, offer_id)
    if offer is None or not authz.can_see_offer(who.scope, offer, await authz.offer_area_ids(s, who.scope)):
        return None
    return offer


@router.get("/offers/{offer_id}")
async def offer_page(offer_id: int, request: Request):
    who, refused = await _caller(request)
    if refused:
        return refused
    services = services_of(request)
    async with services.db.session() as s:
        offer = await _visible_offer(s, who, offer_id)
        if offer is None:
            return message_page(request, 404, texts(request)["not_found"], who)
        found = await offer_service.cases_for_offer(s, offer, visible=authz.case_filter(who.scope),
                                                    now=now_of(services))
        matches = await offer_service.matches_for(s, offer_id=offer.id)
        numbers = {m.case_id: (await s.get(NeedRequest, m.case_id)).number for m in matches}
        return render(request, "offer.html", who=who, offer=offer, candidates=found, matches=matches,
                      numbers=numbers, areas=await _area_names(s),
                      can_review=authz.can_review_offer(who.scope, offer), **_ctx(request))


@router.post("/offers/{offer_id}/{decision}")
async def review_offer(offer_id: int, decision: str, request: Request):
    form = await request.form()
    who, refused = await _caller(request, form)
    if refused:
        return refused
    status = {"approve": "approved", "block": "blocked"}.get(decision)
    async with services_of(request).db.session() as s:
        offer = await _visible_offer(s, who, offer_id)
        if status is None or offer is None:
            return message_page(request, 404, texts(request)["not_found"], who)
        if not authz.can_review_offer(who.scope, offer):
            return message_page(request, 403, texts(request)["forbidden"], who)
        await offer_service.review_offer(s, offer, status, staff_id=who.scope.staff_id,
                                         note=str(form.get("note", "")), now=now_of(services_of(request)))
    return back_to(f"/offers/{offer_id}?done={status}")


async def _visible_case(s, who, number: str) -> NeedRequest | None:
    case = await case_service.get_case(s, number)
    return case if case is not None and authz.can_see_case(who.scope, case) else None


@router.get("/cases/{number}/match")
async def find_match_page(number: str, request: Request):
    who, refused = await _caller(request)
    if refused:
        return refused
    return await _match_page(request, who, number)


async def _match_page(request: Request, who, number: str, *, error: str = "", status_code: int = 200):
    services = services_of(request)
    async with services.db.session() as s:
        case = await _visible_case(s, who, number)
        if case is None:
            return message_page(request, 404, texts(request)["not_found"], who)
        found = await offer_service.offers_for_case(s, case, now=now_of(services))
        matches = await offer_service.matches_for(s, case_id=case.id)
        offers = {m.offer_id: await s.get(Offer, m.offer_id) for m in matches}
        logs = {m.id: await offer_service.match_log(s, m) for m in matches}
        return render(request, "find_match.html", status_code, who=who, case=case, candidates=found,
                      matches=matches, offers_by_id=offers, logs=logs, areas=await _area_names(s), error=error,
                      can_change=authz.can_change_case(who.scope, case), **_ctx(request))


@router.post("/cases/{number}/match")
async def propose(number: str, request: Request):
    form = await request.form()
    who, refused = await _caller(request, form)
    if refused:
        return refused
    services = services_of(request)
    try:
        async with services.db.session() as s:
            case = await _visible_case(s, who, number)
            offer = await _visible_offer(s, who, int(str(form.get("offer_id", "0")) or 0))
            if case is None or offer is None or not authz.can_change_case(who.scope, case):
                return message_page(request, 404, texts(request)["not_found"], who)
            await offer_service.propose_match(s, offer, case, quantity=int(str(form.get("quantity") or 1)),
                                              staff_id=who.scope.staff_id, now=now_of(services))
    except (offer_service.OfferError, ValueError) as exc:
        return await _match_page(request, who, number, error=str(exc), status_code=422)
    return back_to(f"/cases/{number}/match?done=proposed")


@router.post("/matches/{match_id}/{step}")
async def change_match(match_id: int, step: str, request: Request):
    form = await request.form()
    who, refused = await _caller(request, form)
    if refused:
        return refused
    services = services_of(request)
    now = now_of(services)
    number = ""
    try:
        async with services.db.session() as s:
            m = await s.get(Match, match_id)
            case = await s.get(NeedRequest, m.case_id) if m else None
            if case is None or not authz.can_change_case(who.scope, case) or step not in (
                    "confirm", "deliver", "receipt"):
                return message_page(request, 404, texts(request)["not_found"], who)
            number = case.number
            note = str(form.get("note", ""))
            if step == "confirm":
                await offer_service.confirm_match(s, m, staff_id=who.scope.staff_id, when_text=str(form.get("when", "")),
                                                  offerer_called=form.get("called") == "1", note=note, now=now)
                done = "confirmed"
            elif step == "deliver":
                await offer_service.deliver_match(s, m, staff_id=who.scope.staff_id, note=note, now=now)
                done = "delivered"
            else:
                await offer_service.acknowledge_match(s, m, via="worker", staff_id=who.scope.staff_id, text=note,
                                                      now=now)
                done = "receipt"
    except offer_service.OfferError as exc:
        return await _match_page(request, who, number, error=str(exc), status_code=422)
    return back_to(f"/cases/{number}/match?done={done}")
