"""/api/offers and /api/matches: offers of help, what they could serve, and their matches to
cases (resource linking; storage/offers.py holds the rules)."""
from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import (
    ApiError,
    area_brief,
    case_brief,
    caller,
    iso,
    mask_phone,
    not_found,
    not_viewer,
    now_of,
    resource_router,
    services_of,
    writer,
)
from bot.authz import Caller
from storage import audit
from storage import cases as case_service
from storage import offers as offer_service
from storage.areas import get_by_code
from storage.models import Match, NeedRequest, Offer

router = resource_router()


def mask_contact(contact: str) -> str:
    """Digits masked like a phone number; a name or an address is kept."""
    digits = sum(ch.isdigit() for ch in contact)
    return mask_phone(contact) if digits >= 7 else contact


async def offer_json(s: AsyncSession, o: Offer, *, full_contact: bool = False) -> dict:
    return {
        "id": o.id, "status": o.status, "offerer_kind": o.offerer_kind, "offerer_name": o.offerer_name,
        "categories": o.categories, "description": o.description, "quantity": o.quantity,
        "remaining": o.remaining, "unit": o.unit, "area": await area_brief(s, o.area_id),
        "available_from": o.available_from.isoformat() if o.available_from else None,
        "available_until": o.available_until.isoformat() if o.available_until else None,
        "conditions": o.conditions, "contact": o.contact if full_contact else mask_contact(o.contact),
        "via_bot": o.offerer_person_id is not None, "review_note": o.review_note,
        "created_at": iso(o.created_at),
    }


async def match_json(s: AsyncSession, m: Match) -> dict:
    case = await s.get(NeedRequest, m.case_id)
    return {
        "id": m.id, "status": m.status, "offer_id": m.offer_id, "case": case.number if case else None,
        "quantity": m.quantity, "when": m.when_text, "created_at": iso(m.created_at),
        "confirmed_at": iso(m.confirmed_at), "delivered_at": iso(m.delivered_at),
        "acknowledged_at": iso(m.acknowledged_at),
        "log": [{"kind": e.kind, "text": e.text, "data": e.data, "at": iso(e.created_at)}
                for e in await offer_service.match_log(s, m)],
    }


async def visible_offer(s: AsyncSession, c: Caller, offer_id: int) -> Offer:
    offer = await s.get(Offer, offer_id)
    if offer is None or not authz.can_see_offer(c.scope, offer, await authz.offer_area_ids(s, c.scope)):
        raise not_found("帮助", "offer")
    return offer


async def visible_case(s: AsyncSession, c: Caller, number: str) -> NeedRequest:
    case = await case_service.get_case(s, number)
    if case is None or not authz.can_see_case(c.scope, case):
        raise not_found("个案", "case")
    return case


def _refused(exc: offer_service.OfferError) -> ApiError:
    zh, _, en = str(exc).partition(" / ")
    return ApiError(422, zh, en or zh)


@router.get("/offers", summary="Offers of help for your areas and the county-wide ones / 帮助资源")
async def list_offers(request: Request, status: str | None = Query(None, description="new | approved | blocked"),
                      category: str | None = None, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        ids = await authz.offer_area_ids(s, c.scope)
        rows = await offer_service.list_offers(s, status=status, category=category,
                                               visible=offer_service.offer_area_filter(ids))
        return {"offers": [await offer_json(s, o) for o in rows]}


@router.get("/offers/summary", summary="Offers by category and status, matches by status, in your areas (viewers too)")
async def offer_summary(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        # the dashboard's rule (authz.aggregate_filter): only a viewer with no areas sees every area
        everything = c.scope.is_viewer and not c.scope.covered
        ids = None if everything else await authz.offer_area_ids(s, c.scope)
        return await offer_service.count_offers(s, visible=offer_service.offer_area_filter(ids))


class OfferIn(BaseModel):
    offerer_kind: Literal["person", "team", "organisation", "enterprise", "programme"]
    offerer_name: str = Field(..., min_length=1, max_length=200)
    categories: list[str] = Field(..., min_length=1, description="case categories (vocab/cases.py)")
    description: str = Field("", max_length=4000)
    quantity: int = Field(1, ge=1)
    unit: Literal["人", "件", "小时", "元"] = "件"
    area: str | None = Field(None, description="area code of the village, township or county served; empty = the county")
    available_from: date | None = None
    available_until: date | None = None
    conditions: str = Field("", max_length=2000)
    contact: str = Field("", max_length=100)


@router.post("/offers", status_code=201, summary="Register an offer (status new until approved)")
async def create_offer(body: OfferIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        area_id = None
        if body.area:
            area = await get_by_code(s, body.area)
            if area is None:
                raise ApiError(422, f"没有地区代码“{body.area}”", f"unknown area code '{body.area}'")
            area_id = area.id
        if area_id is not None and not authz.covers_area(c.scope, area_id) and not c.scope.is_admin:
            ids = await authz.offer_area_ids(s, c.scope)
            if ids is not None and area_id not in ids:
                raise ApiError(422, "这个地区不归您管", "that area is outside yours")
        try:
            offer = await offer_service.create_offer(
                s, offerer_kind=body.offerer_kind, offerer_name=body.offerer_name, categories=body.categories,
                description=body.description, quantity=body.quantity, unit=body.unit, area_id=area_id,
                available_from=body.available_from, available_until=body.available_until,
                conditions=body.conditions, contact=body.contact, created_by_staff_id=c.scope.staff_id,
                now=now_of(services))
        except offer_service.OfferError as exc:
            raise _refused(exc) from exc
        return await offer_json(s, offer, full_contact=True)


@router.get("/offers/{offer_id}", summary="One offer (its contact in full for the staff who review it)")
async def get_offer(offer_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        offer = await visible_offer(s, c, offer_id)
        full = authz.can_review_offer(c.scope, offer)
        if full:
            await audit.record(s, c.scope.actor, "offer.read", f"offer:{offer.id}")
        return await offer_json(s, offer, full_contact=full)


class ReviewIn(BaseModel):
    note: str = Field("", max_length=2000)


async def _review(offer_id: int, status: str, body: ReviewIn, request: Request, c: Caller) -> dict:
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        offer = await visible_offer(s, c, offer_id)
        if not authz.can_review_offer(c.scope, offer):
            raise ApiError(403, "这项帮助要由负责它所在地区的社工或督导审核",
                           "an offer is reviewed by the staff covering its area (county-wide: a supervisor)")
        await offer_service.review_offer(s, offer, status, staff_id=c.scope.staff_id, note=body.note,
                                         now=now_of(services))
        return await offer_json(s, offer, full_contact=True)


@router.post("/offers/{offer_id}/approve", summary="Approve an offer: it is used for matching from now on")
async def approve_offer(offer_id: int, request: Request, body: ReviewIn | None = None, c: Caller = Depends(caller)):
    return await _review(offer_id, "approved", body or ReviewIn(), request, c)


@router.post("/offers/{offer_id}/block", summary="Block an offer: it is not used for matching")
async def block_offer(offer_id: int, request: Request, body: ReviewIn | None = None, c: Caller = Depends(caller)):
    return await _review(offer_id, "blocked", body or ReviewIn(), request, c)


@router.get("/offers/{offer_id}/matches", summary="The open cases this offer could serve, and its matches")
async def offer_matches(offer_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    services = services_of(request)
    async with services.db.session() as s:
        offer = await visible_offer(s, c, offer_id)
        found = await offer_service.cases_for_offer(s, offer, visible=authz.case_filter(c.scope), now=now_of(services))
        return {"offer": offer.id,
                "candidates": [{**await case_brief(s, f.case), "exact_category": f.exact, "place": f.place_word}
                               for f in found],
                "matches": [await match_json(s, m) for m in await offer_service.matches_for(s, offer_id=offer.id)]}


@router.get("/cases/{number}/matches", summary="Offers that could serve this case, best first, and its matches")
async def case_matches(number: str, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    services = services_of(request)
    async with services.db.session() as s:
        case = await visible_case(s, c, number)
        found = await offer_service.offers_for_case(s, case, now=now_of(services))
        return {"case": case.number,
                "candidates": [{**await offer_json(s, f.offer), "exact_category": f.exact, "place": f.place_word}
                               for f in found],
                "matches": [await match_json(s, m) for m in await offer_service.matches_for(s, case_id=case.id)]}


class MatchIn(BaseModel):
    offer_id: int
    case: str = Field(..., description="the case number, e.g. XZ-2026-000001")
    quantity: int = Field(1, ge=1)


@router.post("/matches", status_code=201, summary="Propose a match (tentative until the offerer confirms)")
async def propose_match(body: MatchIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        case = await visible_case(s, c, body.case)
        offer = await visible_offer(s, c, body.offer_id)
        if not authz.can_change_case(c.scope, case):
            raise ApiError(403, "您不能修改这个个案", "you may not change this case")
        try:
            m = await offer_service.propose_match(s, offer, case, quantity=body.quantity,
                                                  staff_id=c.scope.staff_id, now=now_of(services))
        except offer_service.OfferError as exc:
            raise _refused(exc) from exc
        return await match_json(s, m)


class MatchChange(BaseModel):
    action: Literal["confirm", "deliver", "receipt", "cancel"]
    when: str = Field("", max_length=200, description="confirm: when the help comes, in words")
    offerer_called: bool = Field(False, description="confirm: the worker called the offerer, who agreed")
    note: str = Field("", max_length=2000)


@router.patch("/matches/{match_id}", summary="Confirm (both sides told), deliver, record receipt, or cancel")
async def change_match(match_id: int, body: MatchChange, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    now = now_of(services)
    async with services.db.session() as s:
        m = await offer_service.get_match(s, match_id)
        case = await s.get(NeedRequest, m.case_id) if m else None
        if m is None or case is None or not authz.can_see_case(c.scope, case):
            raise not_found("配对", "match")
        if not authz.can_change_case(c.scope, case):
            raise ApiError(403, "您不能修改这个个案", "you may not change this case")
        staff_id = c.scope.staff_id
        try:
            if body.action == "confirm":
                await offer_service.confirm_match(s, m, staff_id=staff_id, when_text=body.when,
                                                  offerer_called=body.offerer_called, note=body.note, now=now)
            elif body.action == "deliver":
                await offer_service.deliver_match(s, m, staff_id=staff_id, note=body.note, now=now)
            elif body.action == "receipt":
                await offer_service.acknowledge_match(s, m, via="worker", staff_id=staff_id, text=body.note, now=now)
            else:
                await offer_service.cancel_match(s, m, staff_id=staff_id, note=body.note, now=now)
        except offer_service.OfferError as exc:
            raise _refused(exc) from exc
        return await match_json(s, m)
