"""POST/DELETE /api/people/{id}/flags: area staff flag a household for the monthly check-in
and clear it; other areas and viewers are refused; the changes are audited."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, Timer


async def test_flag_and_clear(world):
    p1 = world.ids["p1"]
    async with world.client("w1") as c:
        r = await c.post(f"/api/people/{p1}/flags", json={"kind": "return_to_poverty_watch", "reason": "因病致贫风险"})
        assert r.status_code == 201 and r.json()["created"] is True
        flag_id = r.json()["id"]
        again = await c.post(f"/api/people/{p1}/flags", json={"reason": "again"})
        assert again.json()["id"] == flag_id and again.json()["created"] is False
        assert [f["id"] for f in (await c.get(f"/api/people/{p1}/flags")).json()["flags"]] == [flag_id]
        assert (await c.post(f"/api/people/{p1}/flags", json={"kind": "vip"})).status_code == 422
        async with world.db.session() as s:
            assert (await s.execute(select(Timer.state).where(Timer.kind == "checkin"))).scalars().all() == ["pending"]
        r = await c.delete(f"/api/people/{p1}/flags/{flag_id}")
        assert r.status_code == 200 and r.json()["cleared_at"]
        assert (await c.get(f"/api/people/{p1}/flags")).json()["flags"] == []
        assert (await c.delete(f"/api/people/{p1}/flags/99999")).status_code == 404
    async with world.db.session() as s:
        assert (await s.execute(select(Timer.state).where(Timer.kind == "checkin"))).scalars().all() == ["cancelled"]
        actions = set((await s.execute(select(AuditEntry.action))).scalars())
    assert {"flag.add", "flag.clear"} <= actions


async def test_flag_refusals(world):
    p1 = world.ids["p1"]
    async with world.client("w3") as c:  # another township's village
        assert (await c.post(f"/api/people/{p1}/flags", json={})).status_code == 404
    async with world.client("viewer") as c:
        assert (await c.post(f"/api/people/{p1}/flags", json={})).status_code == 403
