"""/api/campaigns: admins add, edit (rows rescheduled), pause and remove campaigns; a bad
document answers 422 with line numbers; others are refused."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from storage import cases
from storage.models import Timer

DOC = """\
name: 结案后回访
segment: {village: v1}
anchor: case_close
offset: 3 days after
action:
  text: {zh: 最近还好吗？}
"""


async def test_admin_manages_campaigns(world):
    async with world.db.session() as s:
        case = await cases.get_case(s, world.ids["case_p1"])
        await cases.set_case_status(s, case, "closed", now=world.clock(), notify=False)
    async with world.client("admin") as c:
        r = await c.post("/api/campaigns", json={"yaml": DOC.replace("case_close", "case_closing")})
        assert r.status_code == 422 and any(e.startswith("campaign:3:") for e in r.json()["errors"])
        r = await c.post("/api/campaigns", json={"yaml": DOC})
        assert r.status_code == 201 and r.json()["scheduled"] == 1 and r.json()["pending"] == 1
        assert r.json()["report"] == {"sent": 0, "answered": 0, "opted_out": 0, "skipped": {}, "pending": 1}
        cid = r.json()["id"]
        r = await c.put(f"/api/campaigns/{cid}", json={"yaml": DOC.replace("3 days", "5 days")})
        assert r.status_code == 200 and (r.json()["cancelled"], r.json()["scheduled"], r.json()["version"]) == (1, 1, 2)
        async with world.db.session() as s:
            due = (await s.execute(select(Timer.due_at).where(Timer.kind == "campaign", Timer.state == "pending"))
                   ).scalars().all()
        assert due == [world.clock() + timedelta(days=5)]
        assert (await c.post(f"/api/campaigns/{cid}/state", json={"state": "paused"})).json()["pending"] == 0
        assert (await c.post(f"/api/campaigns/{cid}/state", json={"state": "active"})).json()["pending"] == 1
        assert (await c.delete(f"/api/campaigns/{cid}")).json()["cancelled"] == 1
        assert (await c.get(f"/api/campaigns/{cid}")).status_code == 404
        assert (await c.get("/api/campaigns")).json()["campaigns"] == []
    async with world.client("w1") as c:
        assert (await c.get("/api/campaigns")).status_code == 403
        assert (await c.post("/api/campaigns", json={"yaml": DOC})).status_code == 403
