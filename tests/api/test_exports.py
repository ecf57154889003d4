"""The CSV exports and the audit log through the real ASGI app, on SQLite and PostgreSQL:
record exports (personal fields) for admins only and audited, refused to everyone else (and
the refusal audited); totals for every staff member within their areas; the CSV opens with
the Chinese intact (UTF-8 with a byte-order mark); `/api/audit` filters and its refusals."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from storage import cases as case_service
from storage import flags as flag_service
from storage import offers as offer_service
from storage import referrals as referral_service
from storage.areas import all_areas
from storage.cases import get_case
from storage.models import Agency, AuditEntry, Enrollment, Handoff, Offer, Person, Staff
from tests.api.conftest import NOW

RECORDS = ("cases", "activities", "handoffs", "referrals", "checkins")
TOTALS = ("needs", "case_age", "first_reply", "referrals", "signups", "checkins", "satisfaction", "offers", "matches",
          "unmet")


def parse(response) -> list[dict]:
    """The CSV as Excel reads it: a UTF-8 byte-order mark, then comma-separated rows."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


def column(rows: list[dict], prefix: str) -> list[str]:
    """The values of the column whose header starts with `prefix` (headers are "中文 English")."""
    if not rows:
        return []
    key = next(k for k in rows[0] if k.startswith(prefix))
    return [r[key] for r in rows]


@pytest.fixture
async def busy(world):
    """The world with a referral, a check-in answer and a first reply in each township."""
    async with world.db.session() as s:
        agency = Agency(code="minzheng", name="县民政局", name_en="Civil Affairs")
        s.add(agency)
        await s.flush()
        for key in ("p1", "p3"):
            case = await get_case(s, world.ids[f"case_{key}"])
            await referral_service.refer(s, case, agency, "申请临时救助", by_staff_id=1, now=NOW + timedelta(minutes=5))
            flag, _ = await flag_service.add_flag(s, world.ids[key], flag_service.WATCH, now=NOW)
            await flag_service.record_checkin(s, flag.id, person_id=world.ids[key],
                                              answers={"income_dropped": key == "p3"}, now=NOW + timedelta(hours=1))
            h = await s.get(Handoff, world.ids[f"handoff_{key}"])
            h.first_reply_at = NOW + timedelta(minutes=12 if key == "p1" else 30)
            h.satisfaction = 1 if key == "p1" else None
        for e in (await s.execute(select(Enrollment))).scalars():
            e.created_at = NOW - timedelta(days=1)  # signed up yesterday, for the activity next week
        case_p3 = await get_case(s, world.ids["case_p3"])
        case_p3.description = '=HYPERLINK("http://evil.example","看病难")'
        p1 = await s.get(Person, world.ids["p1"])
        p1.display_name = "李<script>阿婆"
    return world


async def staff_id(world, username: str) -> int:
    async with world.db.session() as s:
        return (await s.execute(select(Staff.id).where(Staff.username == username))).scalar_one()


async def audit_entries(world, action: str) -> list[AuditEntry]:
    async with world.db.session() as s:
        return list((await s.execute(select(AuditEntry).where(AuditEntry.action == action)
                                     .order_by(AuditEntry.id))).scalars())


async def test_admin_exports_records_with_chinese_intact_and_each_is_audited(busy):
    world = busy
    async with world.client("admin") as c:
        cases = parse(await c.get("/api/exports/cases.csv"))
        numbers = column(cases, "个案号")  # p3's check-in answer (income dropped) opened the third
        assert numbers[:2] == [world.ids["case_p1"], world.ids["case_p3"]] and len(numbers) == 3
        assert "李<script>阿婆" in column(cases, "姓名") and "13812345678" in column(cases, "电话")
        assert column(cases, "村") == ["东坡村", "柳树村", "柳树村"]
        assert column(cases, "类别 ") == ["看病", "看病", "生活困难"]
        assert "p1 看病难" in column(cases, "情况")
        assert column(cases, "情况")[1] == '\'=HYPERLINK("http://evil.example","看病难")'  # never a formula in Excel

        activities = parse(await c.get("/api/exports/activities.csv"))
        assert sorted(column(activities, "活动 ")) == ["巧娘班", "广场舞"]
        assert set(column(activities, "状态")) == {"confirmed"}

        handoffs = parse(await c.get("/api/exports/handoffs.csv", params={"area": "v1"}))
        assert column(handoffs, "村民") == ["李<script>阿婆"] and column(handoffs, "回复用时") == ["12.0"]

        referrals = parse(await c.get("/api/exports/referrals.csv", params={"area": "t2"}))
        assert column(referrals, "机构") == ["县民政局"] and column(referrals, "转介原因") == ["申请临时救助"]
        assert column(referrals, "个案号") == [world.ids["case_p3"]]

        checkins = parse(await c.get("/api/exports/checkins.csv"))
        assert sorted(zip(column(checkins, "村民"), column(checkins, "收入减少"))) == sorted([("村民p3", "是"), ("李<script>阿婆", "否")])

        later = {"from": (NOW + timedelta(days=2)).date().isoformat(), "to": (NOW + timedelta(days=9)).date().isoformat()}
        assert parse(await c.get("/api/exports/cases.csv", params=later)) == []
        backwards = await c.get("/api/exports/cases.csv", params={"from": later["to"], "to": later["from"]})
        assert backwards.status_code == 422
    admin = await staff_id(world, "admin")
    for name in RECORDS:
        entries = await audit_entries(world, f"export.{name}")
        assert entries and all(e.actor == f"staff:{admin}" for e in entries), name
    assert [e.data["rows"] for e in await audit_entries(world, "export.cases")] == [3, 0]
    assert (await audit_entries(world, "export.handoffs"))[0].data["area"] == "v1"


@pytest.mark.parametrize("who", ["sup", "w1", "viewer"])
async def test_record_exports_are_refused_to_everyone_but_admins_and_the_refusal_is_audited(busy, who):
    world = busy
    async with world.client(who) as c:
        for name in RECORDS:
            r = await c.get(f"/api/exports/{name}.csv", params={"area": "v1"})
            assert r.status_code == 403 and "管理员" in r.json()["error"], (name, r.text)
            assert "13812345678" not in r.text
    refused = await audit_entries(world, "export.refused")
    assert sorted(e.target for e in refused) == sorted(f"export:{n}" for n in RECORDS)
    assert {e.actor for e in refused} == {f"staff:{await staff_id(world, who)}"}
    assert not [e for n in RECORDS for e in await audit_entries(world, f"export.{n}")]


async def test_anonymous_callers_get_nothing(busy):
    async with busy.client() as c:
        for path in ([f"/api/exports/{n}.csv" for n in RECORDS] + [f"/api/exports/totals/{n}.csv" for n in TOTALS]
                     + ["/api/audit", "/api/reports/charts"]):
            r = await c.get(path)
            assert r.status_code == 401, path
            assert "请先登录" in r.json()["error"]
        bad = await c.get("/api/exports/cases.csv", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401


async def test_totals_stay_within_the_callers_areas(busy):
    world = busy
    async with world.client("w1") as c:
        needs = parse(await c.get("/api/exports/totals/needs.csv"))
        assert column(needs, "村") == ["东坡村"] and column(needs, "个案数") == ["1"]
        assert column(needs, "类别") == ["看病"] and column(needs, "月份") == ["2026-11"]
        rated = parse(await c.get("/api/exports/totals/satisfaction.csv"))
        assert list(zip(column(rated, "评价"), column(rated, "次数"))) == [("满意", "1"), ("一般", "0"), ("不满意", "0")]
        assert parse(await c.get("/api/exports/totals/satisfaction.csv", params={"area": "v1", "to": "2026-11-01"})) == []
        reply = parse(await c.get("/api/exports/totals/first_reply.csv"))
        assert column(reply, "中位数") == ["12.0"]
        other = await c.get("/api/exports/totals/needs.csv", params={"area": "v3"})
        assert other.status_code == 404 and other.json()["error"] == "找不到这个地区 / area not found"
        unknown = await c.get("/api/exports/totals/needs.csv", params={"area": "nowhere"})
        assert unknown.status_code == 422
        township = parse(await c.get("/api/exports/totals/referrals.csv", params={"area": "t"}))
        assert column(township, "转介数") == ["1"]  # v2 is in t but not w1's; v3's referral is not counted
        en = parse(await c.get("/api/exports/totals/needs.csv", params={"lang": "en"}))
        assert column(en, "类别") == ["illness"]
    async with world.client("viewer") as c:  # no areas: the totals of everything, never a name
        needs = parse(await c.get("/api/exports/totals/needs.csv"))
        assert sorted(zip(column(needs, "类别"), column(needs, "村"), column(needs, "个案数"))) == [
            ("生活困难", "柳树村", "1"), ("看病", "东坡村", "1"), ("看病", "柳树村", "1")]
        checkins = parse(await c.get("/api/exports/totals/checkins.csv"))
        assert column(checkins, "回答户数") == ["2"] and column(checkins, "收入减少") == ["1"]
        ages = parse(await c.get("/api/exports/totals/case_age.csv"))
        assert column(ages, "未结个案") == ["1", "2"] and column(ages, "已开多久") == ["0–7天", "0–7天"]
        signups = parse(await c.get("/api/exports/totals/signups.csv"))
        assert sorted(column(signups, "活动")) == ["巧娘班", "广场舞"] and column(signups, "已报名") == ["1", "1"]
        charts = (await c.get("/api/reports/charts")).json()["charts"]
        assert charts["needs"]["chart"]["series"] == [{"name": "生活困难", "data": [1]}, {"name": "看病", "data": [2]}]
        text = str(charts)
        assert "李<script>阿婆" not in text and "13812345678" not in text
    async with world.client("sup") as c:
        referrals = parse(await c.get("/api/exports/totals/referrals.csv"))
        assert column(referrals, "结果") == ["已转介"] and column(referrals, "转介数") == ["1"]


async def test_exports_and_audit_are_in_the_openapi_document(world):
    async with world.client() as c:
        paths = (await c.get("/openapi.json")).json()["paths"]
    for name in RECORDS:
        assert "text/csv" in paths[f"/api/exports/{name}.csv"]["get"]["responses"]["200"]["content"]
        params = {p["name"] for p in paths[f"/api/exports/{name}.csv"]["get"]["parameters"]}
        assert {"from", "to", "area"} <= params
    for name in TOTALS:
        assert f"/api/exports/totals/{name}.csv" in paths
    assert {"actor", "action", "subject", "from", "to"} <= {p["name"] for p in paths["/api/audit"]["get"]["parameters"]}


async def test_audit_log_filters_and_refusals(busy):
    world = busy
    async with world.client("admin") as c:
        await c.get("/api/exports/cases.csv")
        await c.get(f"/api/people/{world.ids['p1']}")
    async with world.client("w1") as c:
        await c.get(f"/api/people/{world.ids['p1']}")
        assert (await c.get("/api/audit")).status_code == 403
    async with world.client("w3") as c:
        await c.get(f"/api/people/{world.ids['p3']}")
    async with world.client("viewer") as c:
        assert (await c.get("/api/audit")).status_code == 403
    admin, w1 = await staff_id(world, "admin"), await staff_id(world, "w1")
    async with world.client("admin") as c:
        everything = (await c.get("/api/audit", params={"limit": 1000})).json()
        assert everything["total"] == len(everything["entries"]) >= 8
        exports = (await c.get("/api/audit", params={"action": "export"})).json()["entries"]
        assert [(e["action"], e["actor_name"]) for e in exports] == [("export.cases", "admin")]
        by_name = (await c.get("/api/audit", params={"actor": "w1"})).json()["entries"]
        assert [(e["action"], e["subject"], e["actor"]) for e in by_name] == [
            ("person.read", f"person:{world.ids['p1']}", f"staff:{w1}")]
        about = (await c.get("/api/audit", params={"subject": f"person:{world.ids['p1']}",
                                                    "action": "person.read"})).json()["entries"]
        assert sorted(e["actor"] for e in about) == sorted([f"staff:{admin}", f"staff:{w1}"])
        day = NOW.date()
        assert (await c.get("/api/audit", params={"to": (day - timedelta(days=400)).isoformat()})).json()["total"] == 0
        paged = (await c.get("/api/audit", params={"limit": 2, "offset": 1})).json()
        assert len(paged["entries"]) == 2 and paged["entries"][0]["id"] == everything["entries"][1]["id"]
    async with world.client("sup") as c:  # township t: w1's entries and their own, not w3's or the admin's
        seen = (await c.get("/api/audit", params={"action": "person.read"})).json()["entries"]
        assert [e["actor"] for e in seen] == [f"staff:{w1}"]
        assert (await c.get("/api/audit", params={"actor": "w3"})).json()["total"] == 0


async def link_offers(world) -> dict[str, int]:
    """Offers of help and matches around the world's cases (p1's and p3's: 看病 in v1 and v3):
    - 县爱心协会 (v1; 看病 and 住房; approved, 5): matched with an older 看病 case of v1 in
      October (tentative) and with p1's case in November (confirmed, delivered);
    - 西坡李师傅 (v2; 看病; approved), 柳河建材厂 (t2; 住房; to review), 县医保 (county-wide;
      看病; blocked);
    - a 上学 case in v1 that no offer serves, and p3's case that none serves either (v2's offer
      is for another village, the county's is blocked)."""
    async with world.db.session() as s:
        areas = {a.code: a.id for a in await all_areas(s)}
        w1 = (await s.execute(select(Staff.id).where(Staff.username == "w1"))).scalar_one()
        older = await case_service.open_case(s, person_id=world.ids["p1"], category="medical", description="旧的",
                                             village_id=areas["v1"], now=NOW - timedelta(days=35))
        school = await case_service.open_case(s, person_id=world.ids["p1"], category="education",
                                              description="孩子上学", village_id=areas["v1"], now=NOW)
        made = {}
        for key, kind, name, categories, area, days in (
                ("dongpo", "organisation", "县爱心协会", ["medical", "housing"], "v1", 60),
                ("xipo", "person", "西坡李师傅", ["medical"], "v2", 2),
                ("liuhe", "enterprise", "柳河建材厂", ["housing"], "t2", 2),
                ("county", "programme", "县医保", ["medical"], None, 2)):
            made[key] = await offer_service.create_offer(
                s, offerer_kind=kind, offerer_name=name, categories=categories, quantity=5, unit="人",
                area_id=areas[area] if area else None, contact="13900001111", now=NOW - timedelta(days=days))
        for key, status in (("dongpo", "approved"), ("xipo", "approved"), ("county", "blocked")):
            await offer_service.review_offer(s, made[key], status, staff_id=w1, now=NOW - timedelta(days=1))
        await offer_service.propose_match(s, made["dongpo"], older, staff_id=w1, now=NOW - timedelta(days=30))
        p1_case = await get_case(s, world.ids["case_p1"])
        match = await offer_service.propose_match(s, made["dongpo"], p1_case, staff_id=w1, now=NOW - timedelta(days=1))
        await offer_service.confirm_match(s, match, staff_id=w1, now=NOW - timedelta(hours=20))
        await offer_service.deliver_match(s, match, staff_id=w1, now=NOW - timedelta(hours=1))
        return {**{k: o.id for k, o in made.items()}, "school": school.number, "older": older.number}


def rows_of(rows: list[dict], *prefixes: str) -> list[tuple]:
    return sorted(zip(*(column(rows, p) for p in prefixes)))


async def test_offer_match_and_unmet_totals_within_areas_and_dates(world):
    ids = await link_offers(world)
    async with world.client("w1") as c:  # v1: its offer and the county's; v2's and t2's are not its
        offers = parse(await c.get("/api/exports/totals/offers.csv"))
        assert rows_of(offers, "类别", "状态", "帮助资源数") == sorted([
            ("看病", "已通过", "1"), ("住房", "已通过", "1"), ("看病", "已停用", "1")])
        earlier = parse(await c.get("/api/exports/totals/offers.csv", params={"to": "2026-11-13"}))
        assert rows_of(earlier, "类别", "状态", "帮助资源数") == sorted([("看病", "已通过", "1"), ("住房", "已通过", "1")])
        matches = parse(await c.get("/api/exports/totals/matches.csv"))
        assert rows_of(matches, "月份", "配对数", "送达数") == [("2026-10", "1", "0"), ("2026-11", "1", "1")]
        november = parse(await c.get("/api/exports/totals/matches.csv", params={"from": "2026-11-01"}))
        assert rows_of(november, "月份", "配对数", "送达数") == [("2026-11", "1", "1")]
        unmet = parse(await c.get("/api/exports/totals/unmet.csv"))  # p1's and the older case have a match
        assert rows_of(unmet, "类别", "村", "没有帮助的个案") == [("上学", "东坡村", "1")]
        assert parse(await c.get("/api/exports/totals/unmet.csv", params={"to": "2026-11-01"})) == []
        en = parse(await c.get("/api/exports/totals/unmet.csv", params={"lang": "en"}))
        assert column(en, "类别") == ["schooling"]
        for name in ("offers", "matches", "unmet"):
            refused = await c.get(f"/api/exports/totals/{name}.csv", params={"area": "v3"})
            assert refused.status_code == 404 and refused.json()["error"] == "找不到这个地区 / area not found"
    async with world.client("sup") as c:  # township t: v1's and v2's offers, the county's
        offers = parse(await c.get("/api/exports/totals/offers.csv"))
        assert rows_of(offers, "类别", "状态", "帮助资源数") == sorted([
            ("看病", "已通过", "2"), ("住房", "已通过", "1"), ("看病", "已停用", "1")])
    async with world.client("w3") as c:
        assert parse(await c.get("/api/exports/totals/matches.csv")) == []
        unmet = parse(await c.get("/api/exports/totals/unmet.csv"))
        assert rows_of(unmet, "类别", "村", "没有帮助的个案") == [("看病", "柳树村", "1")]
    async with world.client("admin") as c:
        t2 = parse(await c.get("/api/exports/totals/offers.csv", params={"area": "t2"}))
        assert rows_of(t2, "类别", "状态", "帮助资源数") == sorted([("住房", "待审核", "1"), ("看病", "已停用", "1")])
    async with world.client("viewer") as c:  # no areas: everything, as totals
        charts = (await c.get("/api/reports/charts")).json()["charts"]
        assert sorted((r["category"], r["village"], r["count"]) for r in charts["unmet"]["rows"]) == sorted([
            ("上学", "东坡村", 1), ("看病", "柳树村", 1)])
        assert charts["matches"]["chart"]["series"] == [{"name": "配对", "data": [1, 1]},
                                                        {"name": "送达", "data": [0, 1]}]
        assert charts["offers"]["title"] == "帮助资源：类别和状态"
        assert "13900001111" not in str(charts) and "村民p1" not in str(charts)
    async with world.db.session() as s:  # the county's offer approved: it serves p3's 看病 now
        await offer_service.review_offer(s, await s.get(Offer, ids["county"]), "approved", staff_id=None,
                                         actor="system")
    async with world.client("viewer") as c:
        unmet = parse(await c.get("/api/exports/totals/unmet.csv"))
        assert rows_of(unmet, "类别", "村", "没有帮助的个案") == [("上学", "东坡村", "1")]
