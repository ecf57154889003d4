"""Staff accounts and the area tree on the staff web through the real ASGI app, on SQLite and
PostgreSQL (the world of tests/api/conftest.py): an admin creates an account with roles, areas
and duty hours, changes them, makes a messenger invite (it links a messenger), adds an area,
and deactivates w1 handing the open case and handoff to w3-like colleague; admins only."""
from __future__ import annotations

import re

from sqlalchemy import select

from storage import staff_invites
from storage.models import Area, AuditEntry, Handoff, NeedRequest, Staff, StaffSession
from tests.web.test_inbox_pages import post_form, signed_in


async def _staff(world, username: str) -> Staff:
    async with world.db.session() as s:
        return (await s.execute(select(Staff).where(Staff.username == username))).scalar_one()


async def test_create_edit_invite_and_add_an_area(world):
    async with signed_in(world, "admin") as c:
        r = await post_form(c, "/staff", "/staff", username="zhaoli", display_name="<b>赵丽</b>", roles="worker",
                            areas="v2", days=["1", "2", "3"], start="09:00", end="17:00", password="")
        assert r.status_code == 303, r.text[-1500:]
        url = r.headers["location"].split("?")[0]
        page = (await c.get(url)).text
        assert "&lt;b&gt;赵丽&lt;/b&gt;" in page and "<b>赵丽</b>" not in page
        r = await post_form(c, "/staff", "/staff", username="zhaoli", roles="worker", days="1", start="09:00",
                            end="17:00")
        assert r.status_code == 422 and "已存在" in r.text
        r = await post_form(c, url, url, display_name="赵丽", phone="13900000000", roles=["worker", "supervisor"],
                            areas=["v2", "t2"], days=["6", "7"], start="10:00", end="09:00")
        assert r.status_code == 422 and "下班时间要晚于上班时间" in r.text
        r = await post_form(c, url, url, display_name="赵丽", phone="13900000000", roles=["worker", "supervisor"],
                            areas=["v2", "t2"], days=["6", "7"], start="08:00", end="20:00")
        assert r.status_code == 303
        r = await post_form(c, url, f"{url}/invite")
        assert r.status_code == 200
        code = re.search(r"/start w-([A-Z0-9]+)", r.text).group(1)
        r = await post_form(c, "/areas", "/areas", parent=str((await _area(world, "t")).id), code="v9",
                            name="新建村", name_en="Xinjian")
        assert r.status_code == 303
        assert 'data-area-code="v9"' in (await c.get("/areas")).text
        r = await post_form(c, "/areas", "/areas", parent=str((await _area(world, "v1")).id), code="v10", name="村下")
        assert r.status_code == 422 and "村下面不能再加地区" in r.text
    staff = await _staff(world, "zhaoli")
    assert staff.roles == ["worker", "supervisor"] and {a.code for a in staff.areas} == {"v2", "t2"}
    assert staff.on_duty == {"days": [6, 7], "start": "08:00", "end": "20:00"} and staff.phone == "13900000000"
    township = await _area(world, "t")
    async with world.db.session() as s:
        linked = await staff_invites.redeem_invite(s, f"/start w-{code}", "telegram", "tg-zhaoli", now=world.clock())
        assert linked.id == staff.id
        area = (await s.execute(select(Area).where(Area.code == "v9"))).scalar_one()
        assert area.level == "village" and area.parent_id == township.id
        actions = {e.action for e in (await s.execute(select(AuditEntry).where(
            AuditEntry.target == f"staff:{staff.id}"))).scalars()}
        assert {"staff.create", "staff.update", "staff.areas", "invite.create"} <= actions


async def _area(world, code: str) -> Area:
    async with world.db.session() as s:
        return (await s.execute(select(Area).where(Area.code == code))).scalar_one()


async def test_deactivate_hands_the_work_over(world):
    w1 = await _staff(world, "w1")
    async with world.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == world.ids["case_p1"]))).scalar_one()
        case.assigned_staff_id = w1.id
        handoff = await s.get(Handoff, world.ids["handoff_p1"])
        handoff.status, handoff.claimed_by_staff_id = "claimed", w1.id
    url = f"/staff/{w1.id}"
    async with signed_in(world, "w1") as c:
        pass  # w1 has a web session now
    async with signed_in(world, "admin") as c:
        r = await post_form(c, url, f"{url}/deactivate", confirm="1")
        assert r.status_code == 422 and "还有 1 个对话和 1 个个案" in r.text
        r = await post_form(c, url, f"{url}/deactivate", reassign_to="sup")
        assert r.status_code == 422 and "请先勾选确认" in r.text
        r = await post_form(c, url, f"{url}/deactivate", reassign_to="sup", confirm="1")
        assert r.status_code == 303
    sup = await _staff(world, "sup")
    async with world.db.session() as s:
        assert not (await s.get(Staff, w1.id)).active
        assert (await s.get(Handoff, world.ids["handoff_p1"])).claimed_by_staff_id == sup.id
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == world.ids["case_p1"]))).scalar_one()
        assert case.assigned_staff_id == sup.id
        assert (await s.execute(select(StaffSession).where(StaffSession.staff_id == w1.id))).first() is None


async def test_only_admins_manage_staff_and_areas(world):
    w1 = await _staff(world, "w1")
    async with world.client() as c:
        assert (await c.get("/staff")).status_code == 303
        assert (await c.get("/areas")).status_code == 303
    for who in ("w1", "sup", "viewer"):
        async with signed_in(world, who) as c:
            for path in ("/staff", f"/staff/{w1.id}", "/areas"):
                assert (await c.get(path)).status_code == 404, (who, path)
            page = await c.get("/")
            r = await c.post(f"/staff/{w1.id}", data={"csrf_token": re.search(
                r'name="csrf-token" content="([^"]+)"', page.text).group(1), "roles": "admin", "days": "1",
                "start": "08:00", "end": "09:00"})
            assert r.status_code == 404, who
    assert (await _staff(world, "w1")).roles == ["worker"]


async def test_administration_pages_switch_to_english(world):
    aid, p1 = world.ids["activity_v1"], world.ids["p1"]
    w1 = await _staff(world, "w1")
    pages = {"/activities": "Activities", f"/activities/{aid}": "Roster", f"/activities/{aid}/attendance": "Attendance",
             "/activities/new": "New activity", "/people": "Villagers", f"/people/{p1}": "Household",
             f"/people/{p1}/erase": "Erase a villager", "/hotlines": "Emergency hotlines",
             "/knowledge": "Policy knowledge base", "/knowledge/new": "New policy", "/staff": "Staff accounts",
             f"/staff/{w1.id}": "Duty hours", "/areas": "Add an area"}
    async with signed_in(world, "admin") as c:
        for path, words in pages.items():
            r = await c.get(path, params={"lang": "en"})
            assert r.status_code == 200 and words in r.text and '<html lang="en">' in r.text, path
