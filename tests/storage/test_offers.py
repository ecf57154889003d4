"""Offers and matches in storage, on SQLite and PostgreSQL."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from storage import cases, offers
from storage.models import CaseEvent, Match, MatchEvent, OutboxMessage, Person
from tests.storage.helpers import NOW, make_areas, make_person, make_staff


async def _world(s):
    county, town, v1, v2 = await make_areas(s)
    villager = await make_person(s, ext="villager", village_id=v1.id)
    villager.display_name, villager.phone = "王秀英", "13812345678"
    staff = await make_staff(s, "w1", ["worker"], [v1.id])
    case = await cases.open_case(s, person_id=villager.id, category="livelihood", description="冬天没有棉衣",
                                 village_id=v1.id, phone="13812345678", now=NOW)
    return county, town, v1, v2, villager, staff, case


async def _offer(s, staff, area, categories=("livelihood",), quantity=5, approve=True, **kw):
    o = await offers.create_offer(s, offerer_kind=kw.pop("kind", "organisation"), offerer_name=kw.pop("name", "爱心协会"),
                                  categories=list(categories), description=kw.pop("description", "冬衣"),
                                  quantity=quantity, unit="件", area_id=area.id if area else None,
                                  created_by_staff_id=staff.id, now=NOW, **kw)
    if approve:
        await offers.review_offer(s, o, "approved", staff_id=staff.id, now=NOW)
    return o


async def test_offers_ranked_by_category_then_place(db):
    async with db.session() as s:
        county, town, v1, v2, _, staff, case = await _world(s)
        general_village = await _offer(s, staff, v1, categories=("other",), name="村里的志愿队")
        exact_county = await _offer(s, staff, county, name="县慈善会")
        exact_village = await _offer(s, staff, v1, name="东坡合作社")
        exact_town = await _offer(s, staff, town, name="石桥镇企业")
        await _offer(s, staff, v2, name="西坡的人")  # another village: does not serve v1
        await _offer(s, staff, v1, categories=("medical",), name="医生")  # another category
        await _offer(s, staff, v1, approve=False, name="未审核")  # new: not used
        found = await offers.offers_for_case(s, case, now=NOW)
        assert [c.offer.id for c in found] == [exact_village.id, exact_town.id, exact_county.id, general_village.id]
        assert [c.place_word for c in found] == ["village", "township", "county", "village"]


async def test_offer_outside_dates_or_used_up_is_not_proposed(db):
    async with db.session() as s:
        county, town, v1, v2, _, staff, case = await _world(s)
        today = offers.local_today(NOW)
        await _offer(s, staff, v1, available_from=today + timedelta(days=1), name="明天开始")
        await _offer(s, staff, v1, available_until=today - timedelta(days=1), name="昨天结束")
        ok = await _offer(s, staff, v1, quantity=1, available_from=today, available_until=today, name="今天")
        assert [c.offer.id for c in await offers.offers_for_case(s, case, now=NOW)] == [ok.id]
        m = await offers.propose_match(s, ok, case, staff_id=staff.id, now=NOW)
        await offers.confirm_match(s, m, staff_id=staff.id, now=NOW)
        assert ok.remaining == 0
        assert await offers.offers_for_case(s, case, now=NOW) == []
        other = await cases.open_case(s, person_id=case.person_id, category="livelihood", village_id=v1.id, now=NOW)
        with pytest.raises(offers.OfferError):
            await offers.propose_match(s, ok, other, staff_id=staff.id, now=NOW)
        assert await offers.cases_for_offer(s, ok, now=NOW) == []


async def test_cases_for_offer_most_urgent_and_oldest_first(db):
    async with db.session() as s:
        county, town, v1, v2, villager, staff, old_case = await _world(s)
        p2 = await make_person(s, ext="v2-person", village_id=v2.id)
        urgent = await cases.open_case(s, person_id=p2.id, category="livelihood", urgency="urgent", village_id=v2.id,
                                       now=NOW + timedelta(hours=1))
        newer = await cases.open_case(s, person_id=villager.id, category="livelihood", village_id=v1.id,
                                      now=NOW + timedelta(hours=2))
        await cases.open_case(s, person_id=villager.id, category="medical", village_id=v1.id, now=NOW)
        closed = await cases.open_case(s, person_id=villager.id, category="livelihood", village_id=v1.id, now=NOW)
        await cases.set_case_status(s, closed, "closed", now=NOW, notify=False)
        offer = await _offer(s, staff, town)
        found = await offers.cases_for_offer(s, offer, now=NOW)
        assert [c.case.number for c in found] == [urgent.number, old_case.number, newer.number]


async def test_match_lifecycle_tells_both_sides_without_the_villagers_details(db):
    async with db.session() as s:
        county, town, v1, v2, villager, staff, case = await _world(s)
        donor = await make_person(s, ext="donor", village_id=v2.id)
        offer = await _offer(s, staff, town, quantity=3, kind="person", name="李师傅", offerer_person_id=donor.id)
        m = await offers.propose_match(s, offer, case, quantity=2, staff_id=staff.id, now=NOW)
        assert m.status == "tentative" and offer.remaining == 3
        with pytest.raises(offers.OfferError):
            await offers.propose_match(s, offer, case, staff_id=staff.id, now=NOW)  # already linked
        await offers.confirm_match(s, m, staff_id=staff.id, when_text="周六上午", now=NOW)
        assert m.status == "confirmed" and offer.remaining == 1
        sent = {o.recipient: o.text for o in (await s.execute(select(OutboxMessage))).scalars()}
        assert "李师傅" in sent["villager"] and "周六上午" in sent["villager"] and case.number in sent["villager"]
        to_donor = sent["donor"]
        assert "东坡村" in to_donor and "生活困难" in to_donor and "周六上午" in to_donor
        for private in ("王秀英", "13812345678", "villager", case.number, "棉衣"):
            assert private not in to_donor
        await offers.deliver_match(s, m, staff_id=staff.id, now=NOW)
        assert (await offers.awaiting_receipt(s, villager.id)).id == m.id
        await offers.acknowledge_match(s, m, via="villager", text="收到了", now=NOW)
        assert m.status == "acknowledged"
        kinds = [e.kind for e in await offers.match_log(s, m)]
        assert kinds == ["status", "status", "told_villager", "told_offerer", "status", "asked_receipt", "receipt"]
        events = (await s.execute(select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == "match")
                                  )).scalars().all()
        assert [e.data["to"] for e in events] == ["tentative", "confirmed", "delivered", "acknowledged"]


async def test_offerer_without_messenger_is_called_and_cancel_gives_capacity_back(db):
    async with db.session() as s:
        county, town, v1, v2, villager, staff, case = await _world(s)
        offer = await _offer(s, staff, None, quantity=2, kind="enterprise", name="县农机厂", contact="0731-5551234")
        m = await offers.propose_match(s, offer, case, staff_id=staff.id, now=NOW)
        await offers.confirm_match(s, m, staff_id=staff.id, offerer_called=True, note="电话确认", now=NOW)
        assert offer.remaining == 1
        assert "call" in [e.kind for e in await offers.match_log(s, m)]
        await offers.cancel_match(s, m, staff_id=staff.id, now=NOW)
        await s.refresh(offer)
        assert offer.remaining == 2 and m.status == "cancelled"


async def test_bad_offers_are_refused_in_words(db):
    async with db.session() as s:
        county, town, v1, v2, villager, staff, case = await _world(s)
        for kw in ({"categories": ["firewood"]}, {"unit": "斤"}, {"quantity": 0}, {"offerer_kind": "alien"},
                   {"available_from": date(2026, 12, 2), "available_until": date(2026, 12, 1)}):
            args = {"offerer_kind": "person", "offerer_name": "某人", "categories": ["medical"], "unit": "人", **kw}
            with pytest.raises(offers.OfferError) as err:
                await offers.create_offer(s, **args)
            assert " / " in str(err.value)
        blocked = await _offer(s, staff, v1, approve=False)
        await offers.review_offer(s, blocked, "blocked", staff_id=staff.id, note="联系不上")
        with pytest.raises(offers.OfferError):
            await offers.propose_match(s, blocked, case, staff_id=staff.id, now=NOW)
        assert (await s.execute(select(Match))).scalars().all() == []
        assert (await s.execute(select(MatchEvent))).scalars().all() == []
        assert await s.get(Person, villager.id) is not None
