"""Resource linking on the staff web through the real ASGI app, as a browser fills the forms,
on SQLite and PostgreSQL (the world of tests/api/conftest.py): register an offer, approve it,
find a match for a case, confirm it — the villager is told —; escaping; area rules; CSRF."""
from __future__ import annotations

import re

from markupsafe import escape
from sqlalchemy import select

from storage.models import Match, Offer, OutboxMessage
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
