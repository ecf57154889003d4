"""The area rules, on the API and the pages: a worker sees and changes only their villages'
cases, handoffs, people and rosters; guessing an id answers 404, exactly like a missing one."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, Handoff, NeedRequest, OutboxMessage
from tests.api.helpers import sign_in


async def test_worker_lists_only_their_villages(world):
    async with world.client("w1") as c:
        cases = (await c.get("/api/cases")).json()["cases"]
        assert [x["number"] for x in cases] == [world.ids["case_p1"]]
        handoffs = (await c.get("/api/handoffs")).json()["handoffs"]
        assert [h["id"] for h in handoffs] == [world.ids["handoff_p1"]]
        people = (await c.get("/api/people", params={"q": "村民"})).json()["people"]
        assert [p["id"] for p in people] == [world.ids["p1"]]
        assert people[0]["phone"] == "138****5678"  # masked in lists
        assert (await c.get("/api/cases", params={"village": "v3"})).json()["cases"] == []


async def test_guessing_another_villages_ids_answers_404(world):
    other_case, other_handoff, other_person = world.ids["case_p3"], world.ids["handoff_p3"], world.ids["p3"]
    async with world.client("w1") as c:
        probes = [
            ("GET", f"/api/cases/{other_case}", None),
            ("PATCH", f"/api/cases/{other_case}", {"status": "closed"}),
            ("POST", f"/api/cases/{other_case}/notes", {"text": "x"}),
            ("GET", f"/api/handoffs/{other_handoff}", None),
            ("POST", f"/api/handoffs/{other_handoff}/claim", None),
            ("POST", f"/api/handoffs/{other_handoff}/messages", {"text": "hi"}),
            ("POST", f"/api/handoffs/{other_handoff}/transfer", {"to": "w1"}),
            ("POST", f"/api/handoffs/{other_handoff}/close", {"outcome": "x"}),
            ("GET", f"/api/people/{other_person}", None),
            ("GET", f"/api/activities/{world.ids['activity_v3']}/enrollments", None),
        ]
        for method, url, body in probes:
            r = await c.request(method, url, json=body)
            missing = await c.request(method, url.replace(str(other_case), "XZ-2026-999999")
                                      .replace(f"/{other_handoff}/", "/99999/").replace(f"/{other_handoff}", "/99999")
                                      .replace(f"/people/{other_person}", "/people/99999")
                                      .replace(f"/activities/{world.ids['activity_v3']}/", "/activities/99999/"),
                                      json=body)
            assert r.status_code == 404, (method, url, r.status_code, r.text)
            assert missing.status_code == 404 and r.json().keys() == missing.json().keys() == {"error"}
            assert r.json()["error"] == missing.json()["error"]
    async with world.db.session() as s:  # nothing changed, nobody was told
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == other_case))).scalar_one()
        assert case.status == "new" and case.assigned_staff_id is None
        assert (await s.get(Handoff, other_handoff)).status == "waiting"
        assert (await s.execute(select(OutboxMessage))).scalars().first() is None




async def test_viewer_gets_totals_and_never_personal_fields(world):
    async with world.client("viewer") as c:
        summary = (await c.get("/api/cases/summary")).json()
        assert summary["total"] == 2 and summary["by_village"] == {"v1": 1, "v3": 1}
        assert summary["by_category"] == {"medical": 2}
        activities = (await c.get("/api/activities")).json()["activities"]
        assert {a["confirmed"] for a in activities} == {1}
        for url in ("/api/cases", f"/api/cases/{world.ids['case_p1']}", "/api/handoffs", "/api/people",
                    f"/api/people/{world.ids['p1']}", f"/api/activities/{world.ids['activity_v1']}/enrollments"):
            r = await c.get(url)
            assert r.status_code in (403, 404), url
            assert "13812345678" not in r.text and "村民" not in r.text
        r = await c.patch(f"/api/cases/{world.ids['case_p1']}", json={"status": "closed"})
        assert r.status_code == 403 and "read-only" in r.json()["error"]
        r = await c.post(f"/api/handoffs/{world.ids['handoff_p1']}/claim")
        assert r.status_code == 403



async def test_reading_a_persons_record_is_audited(world):
    async with world.client("w1") as c:
        assert (await c.get(f"/api/people/{world.ids['p1']}")).status_code == 200
        assert (await c.get(f"/api/cases/{world.ids['case_p1']}")).status_code == 200
    async with world.db.session() as s:
        rows = list((await s.execute(select(AuditEntry).where(AuditEntry.action.in_(["person.read", "case.read"]))
                                    )).scalars())
    assert {(r.action, r.target) for r in rows} == {("person.read", f"person:{world.ids['p1']}"),
                                                   ("case.read", world.ids["case_p1"])}
    assert all(r.actor.startswith("staff:") for r in rows)


async def test_supervisor_admin_summary_and_page_scopes(world):
    async with world.client("sup") as c:
        assert [x["number"] for x in (await c.get("/api/cases")).json()["cases"]] == [world.ids["case_p1"]]
        assert (await c.get(f"/api/cases/{world.ids['case_p1']}")).status_code == 200
        assert (await c.get(f"/api/cases/{world.ids['case_p3']}")).status_code == 404
        assert [x["number"] for x in (await c.get("/api/cases", params={"village": "t"})).json()["cases"]] == [
            world.ids["case_p1"]]
    async with world.client("admin") as c:
        assert len((await c.get("/api/cases")).json()["cases"]) == 2
        assert (await c.get(f"/api/people/{world.ids['p3']}")).json()["phone"] == "13812345678"
    async with world.client("w1") as c:
        assert (await c.get("/api/cases/summary")).json()["by_village"] == {"v1": 1}
    async with world.client() as c:
        await sign_in(c, "w1")
        home = (await c.get("/")).text
    assert 'id="count-cases">1<' in home and 'id="count-handoffs">1<' in home
