"""The desk through the JSON API: notes, saved answers (own and shared), release, the
figures at /api/reports/handoffs — area rules applied as everywhere."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from sqlalchemy import select

from storage import handoffs as handoff_service
from storage.models import AuditEntry, Handoff, OnCallShift, Person, SavedAnswer


async def test_notes_are_private_and_read_back_with_the_handoff(world):
    hid = world.ids["handoff_p1"]
    async with world.client("w1") as w1, world.client("w3") as w3:
        assert (await w1.post(f"/api/handoffs/{hid}/claim")).status_code == 200
        r = await w1.post(f"/api/handoffs/{hid}/notes", json={"text": "老人行动不便"})
        assert r.status_code == 201
        r = await w3.post(f"/api/handoffs/{hid}/notes", json={"text": "偷看"})
        assert r.status_code == 404  # outside w3's villages: as if it did not exist
        one = (await w1.get(f"/api/handoffs/{hid}")).json()
        assert [n["text"] for n in one["notes"]] == ["老人行动不便"] and one["notes"][0]["staff"] == "w1"
        assert (await w1.post(f"/api/handoffs/{hid}/release")).json()["status"] == "waiting"
    async with world.db.session() as s:
        actions = [a for a, in (await s.execute(select(AuditEntry.action).where(
            AuditEntry.target == f"handoff:{hid}"))).all()]
    assert {"handoff.claim", "handoff.note", "handoff.read", "handoff.release"} <= set(actions)


async def test_saved_answers_own_and_shared(world):
    async with world.client("w1") as w1, world.client("admin") as admin:
        r = await w1.put("/api/saved-answers", json={"name": "问候", "text": "{name}您好", "shared": True})
        assert r.status_code == 403
        assert (await admin.put("/api/saved-answers", json={"name": "材料", "text": "请带户口本", "shared": True})
                ).status_code == 200
        assert (await w1.put("/api/saved-answers", json={"name": "问候", "text": "{name}您好"})).status_code == 200
        names = {(a["name"], a["shared"]) for a in (await w1.get("/api/saved-answers")).json()["saved_answers"]}
    assert names == {("问候", False), ("材料", True)}


async def test_handoff_figures_by_area_and_priority(world):
    hid = world.ids["handoff_p1"]
    async with world.client("w1") as w1:
        world.clock.advance(minutes=4)
        await w1.post(f"/api/handoffs/{hid}/claim")
        world.clock.advance(minutes=2)
        await w1.post(f"/api/handoffs/{hid}/messages", json={"text": "您好"})
        mine = (await w1.get("/api/reports/handoffs")).json()
    async with world.client("admin") as admin:
        everything = (await admin.get("/api/reports/handoffs")).json()
        none = (await admin.get("/api/reports/handoffs", params={"until": "2020-01-01"})).json()
    async with world.client("viewer") as viewer:
        totals = (await viewer.get("/api/reports/handoffs")).json()
    assert mine["count"] == 1 and list(mine["by_area"]) == ["东坡村"]  # w1's village only
    assert mine["seconds_to_claim"] == {"p50": 240.0, "p90": 240.0}
    assert mine["seconds_to_first_reply"] == {"p50": 360.0, "p90": 360.0}
    assert everything["count"] == totals["count"] == 2 and everything["by_priority"]["normal"]["count"] == 2
    assert none["count"] == 0 and none["seconds_to_claim"]["p50"] is None
    async with world.db.session() as s:
        assert (await s.get(Handoff, hid)).first_reply_at is not None


async def test_on_call_rota_shared_answers_and_the_report_from_the_command_line(world, db_url):
    def xiangzhu(*args):
        env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url}
        return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
                              timeout=120)

    r = xiangzhu("workers", "on-call", "w1", "--from", "2099-11-23T18:00", "--until", "2099-11-24T08:00")
    assert r.returncode == 0, r.stderr
    assert "2099-11-23 18:00 – 2099-11-24 08:00  w1" in r.stdout
    r = xiangzhu("workers", "on-call", "w1", "--from", "2099-11-24T08:00", "--until", "2099-11-23T08:00")
    assert r.returncode == 1 and "结束时间要晚于开始时间" in r.stderr
    r = xiangzhu("workers", "answer", "材料", "{name}您好，请带户口本")
    assert r.returncode == 0, r.stderr
    r = xiangzhu("report", "handoffs", "--json", "--since", "2020-01-01")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["count"] == 2 and set(report["by_area"]) == {"东坡村", "柳树村"}
    r = xiangzhu("report", "handoffs", "--since", "not-a-date")
    assert r.returncode == 2 and "YYYY-MM-DD" in r.stderr
    async with world.db.session() as s:
        assert len((await s.execute(select(OnCallShift))).scalars().all()) == 1
        shared = (await s.execute(select(SavedAnswer))).scalar_one()
    assert shared.staff_id is None and shared.name == "材料"


async def test_a_handoff_with_no_village_is_the_township_workers_to_see_and_claim(world):
    """The township's queue: every worker with an area in a township serves it; the person's
    own record keeps the ordinary area rule."""
    async with world.db.session() as s:
        p = Person(display_name="没说村的人", consent_given=True)
        s.add(p)
        await s.flush()
        h, _ = await handoff_service.open_handoff(s, p.id, summary="不知道哪个村", now=world.clock.current)
        hid, pid = h.id, p.id
    async with world.client("w1") as w1, world.client("w3") as w3, world.client("viewer") as viewer:
        assert hid in [x["id"] for x in (await w1.get("/api/handoffs")).json()["handoffs"]]
        assert hid in [x["id"] for x in (await w3.get("/api/handoffs")).json()["handoffs"]]
        assert (await viewer.get(f"/api/handoffs/{hid}")).status_code in (403, 404)
        assert (await w1.get(f"/api/people/{pid}")).status_code == 404
        assert (await w1.post(f"/api/handoffs/{hid}/claim")).status_code == 200
        assert (await w3.post(f"/api/handoffs/{hid}/claim")).status_code == 409
    async with world.db.session() as s:
        assert (await s.get(Handoff, hid)).claimed_by_staff_id is not None
