"""Resource linking on the staff web through the real ASGI app, as a browser fills the forms,
on SQLite and PostgreSQL (the world of tests/api/conftest.py): register an offer, approve it,
find a match for a case, confirm it — the villager is told —; the case page's matches and
top three offers, proposing from there; escaping; area rules; CSRF."""
from __future__ import annotations

import re

from markupsafe import escape
from sqlalchemy import select

from storage import offers as offer_service
from storage.areas import all_areas
from storage.cases import get_case
from storage.models import Match, Offer, OutboxMessage
from tests.api.conftest import NOW
from tests.web.test_inbox_pages import post_form, signed_in

SCRIPT = "<script>alert('x')</script>冬衣"


async def test_register_approve_find_match_confirm(world):
    case = world.ids["case_p1"]
    async with signed_in(world, "w1") as c:
        new = await c.get("/offers/new")
        assert new.status_code == 200 and "<script>alert" not in new.text
        v1 = re.search(r'<option value="(\d+)">东坡村</option>', new.text).group(1)
        r = await post_form(c, "/offers/new", "/offers", offerer_kind="organisation", offerer_name="县爱心协会",
                            categories="medical", description=SCRIPT, quantity="2", unit="人", area=v1,
                            contact="13900001111")
        assert r.status_code == 303, r.text[:500]
        offer_url = r.headers["location"].split("?")[0]
        page = await c.get(r.headers["location"])
        assert "等待审核" in page.text and str(escape(SCRIPT)) in page.text and SCRIPT not in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        listing = (await c.get("/offers")).text
        assert str(escape(SCRIPT)) in listing and "<script>alert" not in listing

        match_page = await c.get(f"/cases/{case}/match")
        assert 'id="no-candidates"' in match_page.text  # not approved yet
        r = await post_form(c, offer_url, f"{offer_url}/approve")
        assert r.status_code == 303
        assert case in (await c.get(offer_url)).text  # the case it could serve

        offer_id = offer_url.rsplit("/", 1)[1]
        match_page = (await c.get(f"/cases/{case}/match?lang=en")).text
        assert f'data-offer-id="{offer_id}"' in match_page and "same kind, same village" in match_page
        r = await post_form(c, f"/cases/{case}/match", f"/cases/{case}/match", offer_id=offer_id, quantity="1")
        assert r.status_code == 303
        async with world.db.session() as s:
            match = (await s.execute(select(Match))).scalar_one()
        r = await post_form(c, f"/cases/{case}/match", f"/matches/{match.id}/confirm", when="Monday morning",
                            called="1")
        assert r.status_code == 303
        done = (await c.get(r.headers["location"])).text
        assert "the villager and the offerer were told" in done
    async with world.db.session() as s:
        assert (await s.get(Match, match.id)).status == "confirmed"
        assert (await s.get(Offer, int(offer_id))).remaining == 1
        told = [o.text for o in (await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == "tg-1001")))
                .scalars() if "县爱心协会" in o.text]
        assert len(told) == 1 and "Monday morning" in told[0]


async def test_offer_pages_keep_to_areas_and_need_the_csrf_token(world):
    async with signed_in(world, "w1") as c:
        new = await c.get("/offers/new")
        v1 = re.search(r'<option value="(\d+)">东坡村</option>', new.text).group(1)
        assert "柳树村" not in new.text  # w1 may not register offers for v3
        r = await post_form(c, "/offers/new", "/offers", offerer_kind="person", offerer_name="李师傅",
                            categories="medical", quantity="1", unit="件", area=v1)
        offer_url = r.headers["location"].split("?")[0]
        r = await post_form(c, "/offers/new", "/offers", offerer_kind="person", offerer_name="李师傅", quantity="1",
                            unit="件", area=v1)
        assert r.status_code == 422 and "categories" in r.text
        r = await c.post(f"{offer_url}/approve", data={"csrf_token": "wrong"})
        assert r.status_code == 403
    async with signed_in(world, "w3") as c:
        assert (await c.get(offer_url)).status_code == 404
        assert (await c.get(f"/cases/{world.ids['case_p1']}/match")).status_code == 404
    async with signed_in(world, "viewer") as c:
        assert (await c.get("/offers")).status_code == 404


async def test_case_page_shows_matches_and_proposes_one_of_the_top_three(world):
    """p1's case (看病, 东坡村 in 石桥镇): offers of the village, the township (看病; and one for
    anything, "other"), the county, and one of the village already matched. The case page lists
    that match and the three best-ranked other offers; proposing one there makes a match."""
    number = world.ids["case_p1"]
    url = f"/cases/{number}"
    async with world.db.session() as s:
        areas = {a.code: a.id for a in await all_areas(s)}
        made = {}
        for key, name, categories, area, text in (("village", "东坡王大姐", ["medical"], "v1", "陪同看病"),
                                                  ("township", "石桥卫生院", ["medical"], "t", SCRIPT),
                                                  ("any", "石桥志愿队", ["other"], "t", "什么都帮"),
                                                  ("county", "县医保", ["medical"], None, "免费体检"),
                                                  ("matched", "东坡李医生", ["medical"], "v1", "上门看病")):
            made[key] = await offer_service.create_offer(
                s, offerer_kind="person", offerer_name=name, categories=categories, description=text, quantity=3,
                unit="人", area_id=areas[area] if area else None, contact="13900001111", now=NOW)
            await offer_service.review_offer(s, made[key], "approved", staff_id=None, actor="system", now=NOW)
        case = await get_case(s, number)
        matched = await offer_service.propose_match(s, made["matched"], case, now=NOW)
    ids = {k: o.id for k, o in made.items()}
    async with signed_in(world, "w1") as c:
        page = (await c.get(url)).text
        listed = re.search(r'<ul class="rows" id="case-matches">(.*?)</ul>', page, re.S).group(1)
        assert f'data-match-id="{matched.id}"' in listed and "东坡李医生" in listed and "待确认" in listed
        assert "11-23 10:00" in listed  # proposed at 10:00 local time
        top = re.findall(r'<li class="candidate" data-offer-id="(\d+)"', page)
        assert top == [str(ids["village"]), str(ids["township"]), str(ids["county"])]  # not the matched one
        assert SCRIPT not in page and str(escape(SCRIPT)) in page
        assert "13900001111" not in page  # the offerer's contact stays on the offer's page
        assert f'href="{url}/match" id="find-help"' in page

        r = await post_form(c, url, f"{url}/match", offer_id=str(ids["county"]), quantity="2")
        assert r.status_code == 303 and r.headers["location"] == f"{url}/match?done=proposed"
        again = (await c.get(url)).text
        listed = re.search(r'<ul class="rows" id="case-matches">(.*?)</ul>', again, re.S).group(1)
        assert "县医保" in listed and listed.count("待确认") == 2
        assert re.findall(r'<li class="candidate" data-offer-id="(\d+)"', again) == [
            str(ids["village"]), str(ids["township"]), str(ids["any"])]
    async with world.db.session() as s:
        new = (await s.execute(select(Match).where(Match.offer_id == ids["county"]))).scalar_one()
        assert (new.status, new.quantity, new.case_id) == ("tentative", 2, case.id)
    async with signed_in(world, "w3") as c:
        assert (await c.get(url)).status_code == 404
        r = await post_form(c, "/offers", f"{url}/match", offer_id=str(ids["village"]), quantity="1")
        assert r.status_code == 404
