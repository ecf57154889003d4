"""PATCH /api/activities/{id}: area staff move or cancel an activity; reminders follow and
the participants' notices are timer rows; others are refused."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage.models import Activity, AuditEntry, Enrollment, Timer
from tests.api.conftest import NOW


async def test_move_then_cancel_through_the_api(world):
    aid = world.ids["activity_v1"]
    new_start = (NOW + timedelta(days=9)).isoformat()
    async with world.client("w1") as c:
        r = await c.patch(f"/api/activities/{aid}", json={"starts_at": new_start, "place": "村小学"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["place"] == "村小学" and body["told"] == 1 and body["confirmed"] == 1
        r = await c.patch(f"/api/activities/{aid}", json={"status": "cancelled"})
        assert r.status_code == 200 and r.json()["status"] == "cancelled" and r.json()["told"] == 1
        r = await c.patch(f"/api/activities/{aid}", json={"place": "别处"})
        assert r.status_code == 409
    async with world.db.session() as s:
        a = await s.get(Activity, aid)
        notices = (await s.execute(select(Timer).where(Timer.kind == "activity_notice").order_by(Timer.id))).scalars().all()
        statuses = set((await s.execute(select(Enrollment.status).where(Enrollment.activity_id == aid))).scalars())
        actions = set((await s.execute(select(AuditEntry.action))).scalars())
    assert a.status == "cancelled" and a.starts_at == NOW + timedelta(days=9)
    assert [n.payload["change"] for n in notices] == ["moved", "cancelled"]
    assert statuses == {"called_off"}
    assert {"activity.move", "activity.cancel"} <= actions


async def test_patch_refusals(world):
    a3 = world.ids["activity_v3"]
    async with world.client("w1") as c:
        assert (await c.patch(f"/api/activities/{a3}", json={"place": "x"})).status_code == 404  # not their area
        a1 = world.ids["activity_v1"]
        assert (await c.patch(f"/api/activities/{a1}", json={})).status_code == 422
        past = (NOW - timedelta(hours=1)).isoformat()
        r = await c.patch(f"/api/activities/{a1}", json={"starts_at": past})
        assert r.status_code == 422 and "past" in r.json()["error"]
        assert (await c.patch(f"/api/activities/{a1}", json={"status": "open"})).status_code == 422
    async with world.client("viewer") as c:
        assert (await c.patch(f"/api/activities/{world.ids['activity_v1']}", json={"place": "x"})).status_code == 403
