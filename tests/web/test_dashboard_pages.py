"""The dashboard, the audit log page, the home page's "action needed" and the supervisor's
per-worker figures, through the real ASGI app on SQLite and PostgreSQL (the world of
tests/api/conftest.py): the charts' data and tables stay within the caller's areas, record
exports are linked for admins only, the audit page filters and refuses, and a villager's or
an activity's markup is shown as text."""
from __future__ import annotations

import html
import json
import re
from datetime import timedelta

from sqlalchemy import select

from storage import casework
from storage import referrals as referral_service
from storage.cases import get_case
from storage.models import Activity, Agency, Enrollment, Person, Staff
from tests.api.conftest import NOW
from tests.api.test_exports import link_offers
from tests.web.test_inbox_pages import signed_in

NAME = "李<script>window.__pwned=1</script><img src=x onerror=alert(1)>阿婆"
TITLE = "<img src=x onerror=alert(2)>巧娘班"


async def staff_id(world, username: str) -> int:
    async with world.db.session() as s:
        return (await s.execute(select(Staff.id).where(Staff.username == username))).scalar_one()


async def prepare(world) -> None:
    """w1 referred p1's case and has a task overdue since yesterday; p1's name and the v1
    activity's title carry markup."""
    w1 = await staff_id(world, "w1")
    async with world.db.session() as s:
        agency = Agency(code="minzheng", name="县民政局")
        s.add(agency)
        await s.flush()
        case = await get_case(s, world.ids["case_p1"])
        await referral_service.refer(s, case, agency, "临时救助", by_staff_id=w1, now=NOW - timedelta(days=3))
        await casework.add_task(s, case, "电话回访", (NOW - timedelta(days=1)).date(), by_staff_id=w1, now=NOW)
        (await s.get(Person, world.ids["p1"])).display_name = NAME
        (await s.get(Activity, world.ids["activity_v1"])).title = TITLE
        for e in (await s.execute(select(Enrollment))).scalars():
            e.created_at = NOW - timedelta(days=1)


def charts_of(page: str) -> dict[str, dict]:
    return {name: json.loads(html.unescape(data))
            for name, data in re.findall(r'id="chart-(\w+)"[^>]*data-chart=\'([^\']*)\'', page)}


async def test_dashboard_shows_the_callers_areas_with_tables_and_csv_links(world):
    await prepare(world)
    async with signed_in(world, "w1") as c:
        r = await c.get("/dashboard")
        assert r.status_code == 200
        assert r.headers["content-security-policy"].startswith("default-src 'self'; script-src 'self'")
        page = r.text
        assert '<script src="/static/vendor/echarts.min.js"' in page and '<script src="/static/dashboard.js"' in page
        charts = charts_of(page)
        assert charts["needs"]["series"] == [{"name": "看病", "data": [1]}]
        assert charts["referrals"]["x"] == ["县民政局"]
        table = re.search(r'<table class="figures" id="table-needs">(.*?)</table>', page, re.S).group(1)
        assert "东坡村" in table and "柳树村" not in table and "<td>1</td>" in table
        assert 'href="/api/exports/totals/needs.csv?from=2026-08-26&amp;to=2026-11-23&amp;lang=zh"' in page
        assert 'id="record-exports"' not in page  # personal exports: admins only
        options = re.findall(r'<option value="([^"]+)"', page)
        assert options == ["v1"]
        assert "<img src=x onerror=alert(2)>" not in page and "&lt;img src=x onerror=alert(2)&gt;巧娘班" in page
        assert charts["signups"]["x"] == ["11-30 " + TITLE]  # ECharts draws it on a canvas, as text
        assert NAME not in page  # the dashboard shows totals, never a name
        assert (await c.get("/dashboard", params={"area": "v3"})).status_code == 404
        assert (await c.get("/dashboard", params={"from": "2026-11-20", "to": "2026-11-01"})).status_code == 422
        en = (await c.get("/dashboard", params={"lang": "en"})).text
        assert "Needs by category and village, per month" in en and charts_of(en)["needs"]["series"][0]["name"] == "illness"
        empty = (await c.get("/dashboard", params={"from": "2026-01-01", "to": "2026-01-31"})).text
        assert 'id="empty-needs"' in empty and 'id="chart-needs"' not in empty
    async with signed_in(world, "admin") as c:
        page = (await c.get("/dashboard", params={"area": "t"})).text
        assert 'id="record-exports"' in page
        assert 'href="/api/exports/cases.csv?from=2026-08-26&amp;to=2026-11-23&amp;area=t"' in page
    async with signed_in(world, "viewer") as c:
        page = (await c.get("/dashboard")).text
        assert charts_of(page)["needs"]["series"] == [{"name": "看病", "data": [2]}]
        assert 'id="record-exports"' not in page and NAME not in page
    async with world.client() as c:
        r = await c.get("/dashboard")
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")
        assert (await c.get("/audit")).status_code == 303


async def test_audit_page_filters_and_shows_names_as_text(world):
    await prepare(world)
    async with world.client("admin") as c:
        await c.get(f"/api/people/{world.ids['p1']}")  # an audited read
    async with world.client("w3") as c:
        await c.get(f"/api/people/{world.ids['p3']}")
    async with signed_in(world, "admin") as c:
        page = (await c.get("/audit", params={"action": "person.read"})).text
        assert page.count('data-action="person.read"') == 2
        assert NAME not in page and html.escape(NAME, quote=False) in page
        refs = (await c.get("/audit", params={"actor": "w1", "action": "case.referral"})).text
        assert refs.count('data-action="case.referral.add"') == 1
        assert f'<a href="/cases/{world.ids["case_p1"]}">' in refs
        assert 'data-action=' not in (await c.get("/audit", params={"to": "2025-01-01"})).text
    async with signed_in(world, "sup") as c:  # township t: w1's entries, not w3's or the admin's
        page = (await c.get("/audit")).text
        assert 'data-action="case.referral.add"' in page and 'data-action="person.read"' not in page
    for who in ("w1", "viewer"):
        async with signed_in(world, who) as c:
            assert (await c.get("/audit")).status_code == 404


async def test_action_needed_on_the_home_page_and_load_on_the_supervisor_view(world):
    await prepare(world)
    async with signed_in(world, "w1") as c:
        page = (await c.get("/")).text
        assert re.search(r'id="need-handoffs">1<', page) and re.search(r'id="need-overdue">1<', page)
        assert re.search(r'id="need-referrals">1<', page)
        waiting = re.search(r'<ul class="notes" id="referrals-waiting">(.*?)</ul>', page, re.S).group(1)
        assert world.ids["case_p1"] in waiting and "县民政局" in waiting and "3 天" in waiting
        assert NAME not in page and html.escape(NAME, quote=False) in waiting
        assert "电话回访" in page
        assert 'id="nav-dashboard"' in page and 'id="nav-audit"' not in page
    async with signed_in(world, "sup") as c:
        page = (await c.get("/supervise")).text
        row = re.search(r'<tr data-username="w1">(.*?)</tr>', page, re.S).group(1)
        assert re.search(r'class="tight overdue-count overdue">1<', row)
        assert re.search(r'class="tight referrals-waiting">1<', row)
        assert 'id="nav-audit"' in page


async def test_resource_linking_figures_on_the_dashboard(world):
    await link_offers(world)
    async with signed_in(world, "w1") as c:
        page = (await c.get("/dashboard")).text
        charts = charts_of(page)
        assert charts["matches"]["x"] == ["2026-10", "2026-11"]
        assert charts["matches"]["series"] == [{"name": "配对", "data": [1, 1]}, {"name": "送达", "data": [0, 1]}]
        assert charts["unmet"] == {"kind": "bar", "x": ["东坡村"], "stack": True,
                                   "series": [{"name": "上学", "data": [1]}]}
        offers = re.search(r'<table class="figures" id="table-offers">(.*?)</table>', page, re.S).group(1)
        assert "县爱心协会" not in offers and "13900001111" not in page  # totals, never an offerer
        assert re.findall(r"<tr><td>看病</td><td>(\S+?)</td><td>(\d+)</td></tr>", offers) == [("已停用", "1"),
                                                                                              ("已通过", "1")]
        for name in ("offers", "matches", "unmet"):
            assert f'href="/api/exports/totals/{name}.csv?from=2026-08-26&amp;to=2026-11-23&amp;lang=zh"' in page
        november = charts_of((await c.get("/dashboard", params={"from": "2026-11-01"})).text)
        assert november["matches"]["x"] == ["2026-11"]
        assert (await c.get("/dashboard", params={"area": "v3"})).status_code == 404
        en = (await c.get("/dashboard", params={"lang": "en"})).text
        assert "Needs with no offer yet, by category and village" in en
        assert charts_of(en)["unmet"]["series"][0]["name"] == "schooling"
    async with signed_in(world, "w3") as c:
        page = (await c.get("/dashboard")).text
        assert 'id="empty-matches"' in page and charts_of(page)["unmet"]["x"] == ["柳树村"]
