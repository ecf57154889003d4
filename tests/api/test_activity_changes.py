"""PATCH /api/activities/{id}: area staff move or cancel an activity; reminders follow and
the participants' notices are timer rows; others are refused."""
from __future__ import annotations

from datetime import timedelta

from types import SimpleNamespace

from sqlalchemy import select

import bot.waitlist  # noqa: F401  registers the offer handlers
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage import activities
from storage.models import Activity, AuditEntry, Enrollment, Timer
from tests.api.conftest import NOW
from tests.storage.helpers import make_person


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


async def test_roster_api_shows_the_offer(world):
    aid = world.ids["activity_v1"]
    async with world.db.session() as s:
        act = await activities.get_activity(s, aid)
        act.capacity = 1
        waiting = await make_person(s, ext="wait1")
        waiting.village_id = act.area_id
        e = (await activities.enroll(s, aid, waiting.id, now=NOW)).enrollment
        first = (await s.execute(select(Enrollment).where(Enrollment.activity_id == aid,
                                                          Enrollment.status == "confirmed"))).scalar_one()
        await activities.cancel_enrollment(s, first.id, now=NOW)
    services = SimpleNamespace(db=world.db, settings=load_settings(), clock=world.clock)
    assert await claim_and_run_timers(services, claimer="t", now=NOW) == 1
    async with world.client("w1") as c:
        roster = (await c.get(f"/api/activities/{aid}/enrollments")).json()["enrollments"]
        listed = {a["id"]: a for a in (await c.get("/api/activities")).json()["activities"]}
    offered = [r for r in roster if r["id"] == e.id][0]
    assert offered["status"] == "offered"
    assert offered["offer_deadline"].startswith((NOW + timedelta(hours=12)).isoformat()[:16])
    assert listed[aid]["offered"] == 1
