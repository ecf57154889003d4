"""/api/broadcasts: a worker broadcasts to a village of theirs, not to another area nor to
everyone (admins only); the report is read back."""
from __future__ import annotations

from types import SimpleNamespace

import bot.broadcasts  # noqa: F401  registers the handler
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from tests.api.conftest import NOW


async def test_worker_broadcasts_to_their_village_and_reads_the_report(world):
    async with world.client("w1") as c:
        r = await c.post("/api/broadcasts", json={"segment": {"village": "v1"}, "text": {"zh": "明天开会", "en": "Meeting"}})
        assert r.status_code == 201, r.text
        bid = r.json()["id"]
        assert r.json()["report"]["pending"] == 1
        assert (await c.post("/api/broadcasts", json={"segment": {"village": "v3"}, "text": {"zh": "x"}})).status_code == 403
        assert (await c.post("/api/broadcasts", json={"segment": {"everyone": True}, "text": {"zh": "x"}})).status_code == 403
        assert (await c.post("/api/broadcasts", json={"segment": {"village": "v1"}, "text": {"en": "x"}})).status_code == 422
        assert (await c.post("/api/broadcasts", json={"segment": {"village": "zz"}, "text": {"zh": "x"}})).status_code == 422
    services = SimpleNamespace(db=world.db, settings=load_settings(), clock=world.clock)
    assert await claim_and_run_timers(services, claimer="t", now=NOW) == 1
    async with world.client("w1") as c:
        got = (await c.get(f"/api/broadcasts/{bid}")).json()
        assert got["state"] == "done" and got["report"]["queued"] == 1
        assert [b["id"] for b in (await c.get("/api/broadcasts")).json()["broadcasts"]] == [bid]
        assert (await c.get("/api/broadcasts/999")).status_code == 404
    async with world.client("admin") as c:
        r = await c.post("/api/broadcasts", json={"segment": {"everyone": True}, "text": {"zh": "全体通知"}})
        assert r.status_code == 201 and r.json()["report"]["total"] == 2
    async with world.client("viewer") as c:
        assert (await c.post("/api/broadcasts", json={"segment": {"village": "v1"}, "text": {"zh": "x"}})).status_code == 403
