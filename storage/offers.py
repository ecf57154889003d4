"""Resource linking (资源链接): offers of help, and their matches to open cases.

An offer is registered (by a worker, or by the offerer through the bot) as `new`, and a worker
approves or blocks it. Only approved offers with capacity left and within their dates are
matched. A match goes tentative → confirmed → delivered → acknowledged (or cancelled); each
step is written to the match's communication log, and confirming tells both sides — the
villager in plain words, the offerer only the category, the village and the date. The caller
owns the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.areas import ancestors, area_ids_under
from storage.cases import OPEN_STATUSES, add_case_event
from storage.errors import StorageError
from storage.models import Area, Match, MatchEvent, NeedRequest, Offer, Person, utcnow
from storage.notify import best_identity, notify_person
from vocab.cases import CATEGORIES, CATEGORY_WORDS

OFFERER_KINDS = ("person", "team", "organisation", "enterprise", "programme")
UNITS = ("人", "件", "小时", "元")
OFFER_STATUSES = ("new", "approved", "blocked")
MATCH_STATUSES = ("tentative", "confirmed", "delivered", "acknowledged", "cancelled")
ACTIVE_MATCH = ("tentative", "confirmed", "delivered")
TZ = ZoneInfo("Asia/Shanghai")

OFFERER_WORDS = {
    "zh": {"person": "个人", "team": "志愿队", "organisation": "社会组织", "enterprise": "企业",
           "programme": "政府项目"},
    "en": {"person": "person", "team": "volunteer team", "organisation": "organisation",
           "enterprise": "enterprise", "programme": "government programme"},
}
OFFER_STATUS_WORDS = {"zh": {"new": "待审核", "approved": "已通过", "blocked": "已停用"},
                      "en": {"new": "to review", "approved": "approved", "blocked": "blocked"}}
MATCH_STATUS_WORDS = {
    "zh": {"tentative": "待确认", "confirmed": "已确认", "delivered": "已送达", "acknowledged": "村民已确认收到",
           "cancelled": "已取消"},
    "en": {"tentative": "tentative", "confirmed": "confirmed", "delivered": "delivered",
           "acknowledged": "receipt confirmed", "cancelled": "cancelled"},
}


class OfferError(StorageError, ValueError):
    """An offer or match change that is not allowed, in words a person can read (中文 / English)."""


def local_today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(TZ).date()


# ── offers ───────────────────────────────────────────────────────────────────────────────


async def create_offer(
    session: AsyncSession,
    *,
    offerer_kind: str,
    offerer_name: str,
    categories: list[str],
    description: str = "",
    quantity: int = 1,
    unit: str = "件",
    area_id: int | None = None,
    available_from: date | None = None,
    available_until: date | None = None,
    conditions: str = "",
    contact: str = "",
    created_by_staff_id: int | None = None,
    offerer_person_id: int | None = None,
    now: datetime | None = None,
) -> Offer:
    if offerer_kind not in OFFERER_KINDS:
        raise OfferError(f"不认识的提供方类型 {offerer_kind!r} / unknown offerer kind; one of {', '.join(OFFERER_KINDS)}")
    if not offerer_name.strip():
        raise OfferError("请写上提供方的名字 / the offerer's name is missing")
    bad = [c for c in categories if c not in CATEGORIES]
    if not categories or bad:
        raise OfferError(f"需求类别不对 {bad or categories!r} / categories must be some of {', '.join(CATEGORIES)}")
    if unit not in UNITS:
        raise OfferError(f"单位只能是 {'、'.join(UNITS)} / unit must be one of {', '.join(UNITS)}")
    if quantity < 1:
        raise OfferError("数量至少是 1 / quantity must be at least 1")
    if available_from and available_until and available_until < available_from:
        raise OfferError("结束日期早于开始日期 / available_until is before available_from")
    if area_id is not None:
        area = await session.get(Area, area_id)
        if area is None:
            raise OfferError("没有这个地区 / unknown area")
    now = now or utcnow()
    offer = Offer(offerer_kind=offerer_kind, offerer_name=offerer_name.strip(), categories=list(dict.fromkeys(categories)),
                  description=description, quantity=quantity, remaining=quantity, unit=unit, area_id=area_id,
                  available_from=available_from, available_until=available_until, conditions=conditions,
                  contact=contact, status="new", created_by_staff_id=created_by_staff_id,
                  offerer_person_id=offerer_person_id, created_at=now, updated_at=now)
    session.add(offer)
    await session.flush()
    actor = f"staff:{created_by_staff_id}" if created_by_staff_id else (
        f"person:{offerer_person_id}" if offerer_person_id else "system")
    await audit.record(session, actor, "offer.create", f"offer:{offer.id}")
    return offer


async def review_offer(session: AsyncSession, offer: Offer, status: str, *, staff_id: int | None, note: str = "",
                       now: datetime | None = None, actor: str | None = None) -> None:
    """Approve or block an offer (a blocked one may be approved again later)."""
    if status not in ("approved", "blocked"):
        raise OfferError("只能通过或停用 / status must be approved or blocked")
    old = offer.status
    offer.status = status
    offer.reviewed_by_staff_id = staff_id
    offer.review_note = note
    offer.updated_at = now or utcnow()
    await audit.record(session, actor or f"staff:{staff_id}", f"offer.{status}", f"offer:{offer.id}", {"from": old})
    await session.flush()


async def list_offers(session: AsyncSession, *, status: str | None = None, category: str | None = None,
                      visible: ColumnElement[bool] | None = None, limit: int = 200, offset: int = 0) -> list[Offer]:
    q = select(Offer) if visible is None else select(Offer).where(visible)
    if status:
        q = q.where(Offer.status == status)
    rows = list((await session.execute(q.order_by(Offer.id.desc()))).scalars())
    if category:  # categories is a JSON list: filtered here, the same on SQLite and PostgreSQL
        rows = [o for o in rows if category in o.categories]
    return rows[offset:offset + limit]


def is_usable(offer: Offer, today: date) -> bool:
    """Approved, with capacity left and within its dates."""
    return (offer.status == "approved" and offer.remaining > 0
            and (offer.available_from is None or offer.available_from <= today)
            and (offer.available_until is None or today <= offer.available_until))


# ── matching ─────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Candidate:
    """One ranked suggestion: lower ranks first."""

    offer: Offer
    case: NeedRequest
    exact: bool  # the offer names the case's category (otherwise it offers general help, "other")
    place: int  # 0 same village, 1 same township, 2 the county

    @property
    def place_word(self) -> str:
        return ("village", "township", "county")[self.place]


def _category_rank(offer: Offer, case: NeedRequest) -> bool | None:
    if case.category in offer.categories:
        return True
    if "other" in offer.categories:
        return False
    return None


def _place_in(offer: Offer, chain: list[int]) -> int | None:
    """How near the offer's area is to a village whose area chain (itself, then its parents)
    is `chain`, or None when it does not serve it."""
    if offer.area_id is None:
        return 2
    if offer.area_id not in chain:
        return None
    return min(chain.index(offer.area_id), 2)


async def _place_rank(session: AsyncSession, offer: Offer, case: NeedRequest) -> int | None:
    """How near the offer's area is to the case's village, or None when it does not serve it."""
    return _place_in(offer, [a.id for a in await ancestors(session, case.village_id)])


async def usable_offers(session: AsyncSession, *, now: datetime | None = None) -> list[Offer]:
    """Approved offers with capacity left and within their dates, oldest first."""
    today = local_today(now)
    rows = (await session.execute(select(Offer).where(Offer.status == "approved", Offer.remaining > 0)
                                  .order_by(Offer.id))).scalars()
    return [o for o in rows if is_usable(o, today)]


def _candidates(offers: list[Offer], case: NeedRequest, chain: list[int]) -> list[Candidate]:
    found = []
    for offer in offers:
        exact = _category_rank(offer, case)
        place = _place_in(offer, chain) if exact is not None else None
        if exact is None or place is None:
            continue
        found.append(Candidate(offer, case, exact, place))
    found.sort(key=lambda c: (not c.exact, c.place, c.offer.created_at, c.offer.id))
    return found


async def offers_for_case(session: AsyncSession, case: NeedRequest, *, now: datetime | None = None) -> list[Candidate]:
    """Approved offers with capacity left, within their dates, that serve the case's place and
    category: exact category first, then same village, township, county, then the oldest offer."""
    chain = [a.id for a in await ancestors(session, case.village_id)]
    return _candidates(await usable_offers(session, now=now), case, chain)


async def cases_without_offer(session: AsyncSession, cases: list[NeedRequest], *,
                              now: datetime | None = None) -> list[NeedRequest]:
    """Of `cases`, those no offer could serve by `offers_for_case`'s rules (no approved offer
    with capacity left, within its dates, for their category and place) and that have no match
    under way or done (any but a cancelled one). The offers are read once for all the cases."""
    offers = await usable_offers(session, now=now)
    matched = set((await session.execute(select(Match.case_id).where(Match.status != "cancelled"))).scalars())
    chains: dict[int | None, list[int]] = {}
    found = []
    for case in cases:
        if case.id in matched:
            continue
        if case.village_id not in chains:
            chains[case.village_id] = [a.id for a in await ancestors(session, case.village_id)]
        if not _candidates(offers, case, chains[case.village_id]):
            found.append(case)
    return found


async def cases_for_offer(session: AsyncSession, offer: Offer, *, visible: ColumnElement[bool] | None = None,
                          now: datetime | None = None, limit: int = 50) -> list[Candidate]:
    """Open cases the offer could serve, exact category first, then nearest, most urgent, oldest.
    Empty when the offer is not usable (not approved, used up or outside its dates)."""
    if not is_usable(offer, local_today(now)):
        return []
    q = select(NeedRequest).where(NeedRequest.status.in_(OPEN_STATUSES))
    if visible is not None:
        q = q.where(visible)
    if offer.area_id is not None:
        q = q.where(NeedRequest.village_id.in_(await area_ids_under(session, [offer.area_id])))
    if "other" not in offer.categories:
        q = q.where(NeedRequest.category.in_(offer.categories))
    already = select(Match.case_id).where(Match.offer_id == offer.id, Match.status.in_(ACTIVE_MATCH))
    q = q.where(NeedRequest.id.not_in(already))
    found = []
    for case in (await session.execute(q)).scalars():
        exact = _category_rank(offer, case)
        place = await _place_rank(session, offer, case)
        if exact is None or place is None:
            continue
        found.append(Candidate(offer, case, exact, place))
    found.sort(key=lambda c: (not c.exact, c.place, c.case.priority, c.case.created_at, c.case.id))
    return found[:limit]


# ── matches ──────────────────────────────────────────────────────────────────────────────


async def log(session: AsyncSession, match: Match, kind: str, text: str = "", *, staff_id: int | None = None,
              data: dict | None = None, now: datetime | None = None) -> MatchEvent:
    event = MatchEvent(match_id=match.id, kind=kind, text=text, data=data or {}, staff_id=staff_id,
                       created_at=now or utcnow())
    session.add(event)
    await session.flush()
    return event


async def match_log(session: AsyncSession, match: Match) -> list[MatchEvent]:
    return list((await session.execute(select(MatchEvent).where(MatchEvent.match_id == match.id)
                                       .order_by(MatchEvent.id))).scalars())


async def matches_for(session: AsyncSession, *, case_id: int | None = None, offer_id: int | None = None) -> list[Match]:
    q = select(Match)
    if case_id is not None:
        q = q.where(Match.case_id == case_id)
    if offer_id is not None:
        q = q.where(Match.offer_id == offer_id)
    return list((await session.execute(q.order_by(Match.id.desc()))).scalars())


async def propose_match(session: AsyncSession, offer: Offer, case: NeedRequest, *, quantity: int = 1,
                        staff_id: int | None = None, now: datetime | None = None) -> Match:
    now = now or utcnow()
    if case.status not in OPEN_STATUSES:
        raise OfferError("这个个案已经结束 / the case is not open")
    if not is_usable(offer, local_today(now)):
        raise OfferError("这项帮助现在不能用（未通过、已用完或不在日期内）/ the offer is not approved, used up or outside its dates")
    if quantity < 1 or quantity > offer.remaining:
        raise OfferError(f"数量要在 1 到 {offer.remaining} 之间 / quantity must be 1 to {offer.remaining}")
    if _category_rank(offer, case) is None or await _place_rank(session, offer, case) is None:
        raise OfferError("这项帮助不服务这个个案的类别或地方 / the offer does not serve this case's category or place")
    existing = (await session.execute(select(Match).where(Match.offer_id == offer.id, Match.case_id == case.id,
                                                          Match.status.in_(ACTIVE_MATCH)))).scalars().first()
    if existing is not None:
        raise OfferError(f"已经有配对 #{existing.id} / match #{existing.id} already links them")
    match = Match(offer_id=offer.id, case_id=case.id, quantity=quantity, status="tentative",
                  proposed_by_staff_id=staff_id, created_at=now)
    session.add(match)
    await session.flush()
    await log(session, match, "status", staff_id=staff_id, data={"to": "tentative"}, now=now)
    await add_case_event(session, case, "match", staff_id=staff_id, public=False,
                         data={"match": match.id, "offer": offer.id, "to": "tentative"}, now=now)
    await audit.record(session, f"staff:{staff_id}" if staff_id else "system", "match.propose", case.number,
                       {"offer": offer.id, "match": match.id})
    return match


def _words(locale: str) -> str:
    return locale if locale in CATEGORY_WORDS else "zh"


def villager_notice(locale: str, offer: Offer, match: Match, case: NeedRequest) -> str:
    """What, when and from whom — in plain words."""
    loc = _words(locale)
    what = offer.description.strip() or CATEGORY_WORDS[loc][case.category]
    from_whom = offer.offerer_name
    when = match.when_text.strip()
    if loc == "en":
        text = f"Good news about your request {case.number}: {from_whom} will help you with {what}"
        text += f", {when}." if when else "."
        return text + " Your social worker will keep in touch. When you have received it, reply 'received'."
    text = f"您的求助 {case.number} 有好消息：{from_whom}会帮您（{what}）"
    text += f"，时间：{when}。" if when else "。"
    return text + "社工会和您保持联系。收到以后请回复“收到了”。"


async def offerer_notice(session: AsyncSession, locale: str, offer: Offer, match: Match, case: NeedRequest) -> str:
    """Only the category, the village and the date: never the villager's name or phone."""
    loc = _words(locale)
    village = await session.get(Area, case.village_id) if case.village_id else None
    place = (village.name_en or village.name) if (village and loc == "en") else (village.name if village else "")
    category = CATEGORY_WORDS[loc][case.category]
    when = match.when_text.strip()
    if loc == "en":
        return (f"Thank you! Your offer #{offer.id} is matched with a need for {category}"
                f"{' in ' + place if place else ''}, {match.quantity} {offer.unit}"
                f"{', ' + when if when else ''}. The social worker will tell you how to hand it over.")
    return (f"谢谢您！您提供的帮助 #{offer.id} 已配对：{place}一户{category}方面的需要，{match.quantity}{offer.unit}"
            f"{'，时间：' + when if when else ''}。社工会联系您交接。")


async def _take_capacity(session: AsyncSession, offer: Offer, quantity: int) -> None:
    """One conditional UPDATE, so two workers confirming at once cannot overdraw the offer."""
    done = await session.execute(update(Offer).where(Offer.id == offer.id, Offer.remaining >= quantity)
                                 .values(remaining=Offer.remaining - quantity)
                                 .execution_options(synchronize_session=False))
    if (done.rowcount or 0) != 1:
        raise OfferError("这项帮助剩下的不够了 / the offer has not enough left")
    await session.refresh(offer, ["remaining"])


async def get_match(session: AsyncSession, match_id: int) -> Match | None:
    return await session.get(Match, match_id)


async def confirm_match(session: AsyncSession, match: Match, *, staff_id: int | None, when_text: str = "",
                        offerer_called: bool = False, note: str = "", now: datetime | None = None) -> None:
    """The offerer agreed (through the bot, or on the phone with the worker: `offerer_called`).
    Capacity goes down; the villager and the offerer are told; the case timeline records it."""
    now = now or utcnow()
    if match.status != "tentative":
        raise OfferError(f"只有待确认的配对可以确认（现在：{match.status}）/ only a tentative match can be confirmed")
    offer = await session.get(Offer, match.offer_id)
    case = await session.get(NeedRequest, match.case_id)
    if not is_usable(offer, local_today(now)):
        raise OfferError("这项帮助现在不能用（未通过、已用完或不在日期内）/ the offer is not approved, used up or outside its dates")
    await _take_capacity(session, offer, match.quantity)
    match.status, match.confirmed_at = "confirmed", now
    if when_text:
        match.when_text = when_text
    await log(session, match, "status", note, staff_id=staff_id, data={"to": "confirmed"}, now=now)
    if offerer_called:
        await log(session, match, "call", note or "offerer confirmed on the phone", staff_id=staff_id, now=now)
    person = await session.get(Person, case.person_id)
    villager_text = villager_notice(person.locale if person else "zh", offer, match, case)
    told = await notify_person(session, case.person_id, villager_text)
    await log(session, match, "told_villager" if told else "not_reached", villager_text, staff_id=staff_id, now=now)
    if offer.offerer_person_id is not None:
        offerer = await session.get(Person, offer.offerer_person_id)
        offerer_text = await offerer_notice(session, offerer.locale if offerer else "zh", offer, match, case)
        told = await notify_person(session, offer.offerer_person_id, offerer_text)
        await log(session, match, "told_offerer" if told else "not_reached", offerer_text, staff_id=staff_id, now=now)
    await add_case_event(session, case, "match", villager_text, staff_id=staff_id, public=True,
                         data={"match": match.id, "offer": offer.id, "to": "confirmed"}, now=now)
    await audit.record(session, f"staff:{staff_id}" if staff_id else "system", "match.confirm", case.number,
                       {"match": match.id})


async def deliver_match(session: AsyncSession, match: Match, *, staff_id: int | None, note: str = "",
                        now: datetime | None = None) -> None:
    """The help was handed over; the villager is asked to confirm receipt."""
    now = now or utcnow()
    if match.status != "confirmed":
        raise OfferError("只有已确认的配对可以标记送达 / only a confirmed match can be delivered")
    match.status, match.delivered_at = "delivered", now
    case = await session.get(NeedRequest, match.case_id)
    await log(session, match, "status", note, staff_id=staff_id, data={"to": "delivered"}, now=now)
    person = await session.get(Person, case.person_id)
    ask = ("Has the help arrived? Reply 'received' when you have it."
           if person and person.locale == "en" else "帮助送到了吗？收到的话请回复“收到了”。")
    told = await notify_person(session, case.person_id, ask)
    await log(session, match, "asked_receipt" if told else "not_reached", ask, staff_id=staff_id, now=now)
    await add_case_event(session, case, "match", note, staff_id=staff_id, public=False,
                         data={"match": match.id, "to": "delivered"}, now=now)
    await audit.record(session, f"staff:{staff_id}" if staff_id else "system", "match.deliver", case.number,
                       {"match": match.id})


async def acknowledge_match(session: AsyncSession, match: Match, *, via: str = "worker", staff_id: int | None = None,
                            text: str = "", attachments: list | None = None, now: datetime | None = None) -> None:
    """The villager confirmed receipt: by replying to the bot (`via="villager"`) or told the worker."""
    now = now or utcnow()
    if match.status not in ("confirmed", "delivered"):
        raise OfferError("这个配对还没有确认或送达 / the match is not confirmed or delivered")
    match.status, match.acknowledged_at = "acknowledged", now
    if match.delivered_at is None:
        match.delivered_at = now
    case = await session.get(NeedRequest, match.case_id)
    await log(session, match, "receipt", text, staff_id=staff_id,
              data={"via": via, "attachments": attachments or []}, now=now)
    await add_case_event(session, case, "match", text, staff_id=staff_id, public=True,
                         data={"match": match.id, "to": "acknowledged", "via": via}, now=now)
    await audit.record(session, f"staff:{staff_id}" if staff_id else f"person:{case.person_id}", "match.receipt",
                       case.number, {"match": match.id})


async def awaiting_receipt(session: AsyncSession, person_id: int) -> Match | None:
    """The newest delivered (or confirmed) match of the person's cases, for a "收到了" reply."""
    q = (select(Match).join(NeedRequest, NeedRequest.id == Match.case_id)
         .where(NeedRequest.person_id == person_id, Match.status.in_(("delivered", "confirmed")))
         .order_by(Match.status.desc(), Match.id.desc()))  # "delivered" sorts before "confirmed"
    return (await session.execute(q.limit(1))).scalars().first()


async def cancel_match(session: AsyncSession, match: Match, *, staff_id: int | None, note: str = "",
                       now: datetime | None = None) -> None:
    """Unmatch: a confirmed match gives its capacity back."""
    now = now or utcnow()
    if match.status not in ("tentative", "confirmed"):
        raise OfferError("送达以后不能取消 / a delivered match cannot be cancelled")
    if match.status == "confirmed":
        await session.execute(update(Offer).where(Offer.id == match.offer_id)
                              .values(remaining=Offer.remaining + match.quantity)
                              .execution_options(synchronize_session=False))
    old, match.status = match.status, "cancelled"
    await log(session, match, "status", note, staff_id=staff_id, data={"from": old, "to": "cancelled"}, now=now)
    await audit.record(session, f"staff:{staff_id}" if staff_id else "system", "match.cancel", f"match:{match.id}")


async def has_messenger(session: AsyncSession, person_id: int | None) -> bool:
    return person_id is not None and await best_identity(session, person_id=person_id) is not None


# ── figures ──────────────────────────────────────────────────────────────────────────────


async def count_offers(session: AsyncSession, *, visible: ColumnElement[bool] | None = None) -> dict:
    """Offers by status and by category, matches by status."""
    q = select(Offer) if visible is None else select(Offer).where(visible)
    by_status: dict[str, int] = {}
    by_category: dict[str, int] = {}
    for o in (await session.execute(q)).scalars():
        by_status[o.status] = by_status.get(o.status, 0) + 1
        for c in o.categories:
            by_category[c] = by_category.get(c, 0) + 1
    rows = await session.execute(select(Match.status, func.count()).group_by(Match.status))
    return {"offers_by_status": by_status, "offers_by_category": by_category,
            "matches_by_status": {k: n for k, n in rows.all()}}


def offer_area_filter(area_ids: set[int] | None) -> ColumnElement[bool]:
    """Offers whose area is one of `area_ids`, or that serve everywhere (no area)."""
    if area_ids is None:
        return Offer.id.is_not(None)
    return or_(Offer.area_id.is_(None), Offer.area_id.in_(sorted(area_ids)))
