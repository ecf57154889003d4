"""The emergency hotlines on the staff web through the real ASGI app, on SQLite and
PostgreSQL: an admin adds, changes and removes a hotline (checked, audited); the emergency
flow's action reads the saved list; workers and viewers are refused."""
from __future__ import annotations

from sqlalchemy import select

from storage import policies
from storage.models import AuditEntry
from tests.web.test_inbox_pages import post_form, signed_in


async def test_admin_adds_changes_and_removes_a_hotline(world):
    async with signed_in(world, "admin") as c:
        page = await c.get("/hotlines")
        assert page.status_code == 200 and 'data-number="110"' in page.text  # the built-in list until saved
        r = await post_form(c, "/hotlines", "/hotlines", number="12349", label="养老服务", label_en="Elder care",
                            when="老人没人照顾", when_en="An elder has nobody to care for them",
                            situations="danger")
        assert r.status_code == 303, r.text[:400]
        r = await post_form(c, "/hotlines", "/hotlines", number="12a", label="坏号码", label_en="bad",
                            when="x", when_en="x", situations="danger")
        assert r.status_code == 422 and "use digits only" in r.text
        async with world.db.session() as s:
            saved = await policies.get_hotlines(s)
        assert saved[-1]["number"] == "12349" and "110" in [h["number"] for h in saved]
        index = len(saved) - 1
        r = await post_form(c, "/hotlines", f"/hotlines/{index}", number="12349", label="<b>养老</b>热线",
                            label_en="Elder care", when="老人没人照顾", when_en="x", situations="danger")
        assert r.status_code == 303
        page = (await c.get("/hotlines")).text
        assert "&lt;b&gt;养老&lt;/b&gt;热线" in page and "<b>养老</b>" not in page
        r = await post_form(c, "/hotlines", f"/hotlines/{index}", remove="1")
        assert r.status_code == 303
    async with world.db.session() as s:
        numbers = [h["number"] for h in await policies.get_hotlines(s)]
        assert "12349" not in numbers and "110" in numbers
        entries = (await s.execute(select(AuditEntry).where(AuditEntry.action == "hotlines.set"))).scalars().all()
        assert len(entries) == 3


async def test_only_admins_edit_hotlines(world):
    async with world.client() as c:
        assert (await c.get("/hotlines")).status_code == 303
    for who in ("w1", "sup", "viewer"):
        async with signed_in(world, who) as c:
            assert (await c.get("/hotlines")).status_code == 404, who
            assert (await c.post("/hotlines", data={"number": "1", "csrf_token": "x"})).status_code in (403, 404)
    async with world.db.session() as s:
        assert await policies.get_hotlines(s) == []
