"""Flows through the API: admins save validated drafts and publish; errors name file:line:column."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Flow, FlowVersion

GOOD = """spec_version: 2
id: water_report
title:
  zh: 报告饮水问题
  en: Report a water problem
steps:
  - say:
      zh: 谢谢，已记下。
      en: Thank you, noted.
  - end: true
"""

BROKEN = GOOD.replace("  - end: true\n", "  - goto: nowhere\n")


async def test_save_draft_validate_and_publish(world):
    async with world.client("admin") as c:
        r = await c.put("/api/flows/water_report", json={"yaml": BROKEN})
        assert r.status_code == 422, r.text
        body = r.json()
        assert "errors" in body and body["errors"][0].startswith("water_report.yaml:")
        line, column = body["errors"][0].split(":")[1:3]
        assert line.isdigit() and column.isdigit()
        r = await c.put("/api/flows/water_report", json={"yaml": GOOD})
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 1 and r.json()["yaml"] == GOOD and r.json()["published_version"] is None
        r = await c.post("/api/flows/water_report/publish")
        assert r.status_code == 200 and r.json()["published_version"] == 1
        got = (await c.get("/api/flows/water_report")).json()
        assert {"id", "version", "yaml"} <= got.keys() and got["id"] == "water_report"
        assert (await c.get("/api/flows/no_such_flow")).status_code == 404
    async with world.client("w1") as c:
        assert (await c.get("/api/flows/water_report")).status_code == 200  # workers may read
        assert (await c.post("/api/flows/water_report/publish")).status_code == 403
    async with world.db.session() as s:
        versions = list((await s.execute(select(FlowVersion))).scalars())
        assert len(versions) == 1 and versions[0].published_at is not None
        assert (await s.get(Flow, "water_report")).current_version_id == versions[0].id
