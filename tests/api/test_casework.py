"""Casework through the JSON API: stages, the case plan, tasks with overdue on a moved clock,
referrals that tell the villager, the agency list, and the area rules on every new route."""
from __future__ import annotations

from sqlalchemy import select

from storage import agencies as agency_service
from storage.models import AuditEntry, CaseTask, NeedRequest, OutboxMessage, Referral


async def _agencies(world) -> None:
    async with world.db.session() as s:
        await agency_service.seed_demo_agencies(s)


async def _outbox(world, recipient="tg-1001"):
    async with world.db.session() as s:
        return [m.text for m in (await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                                 .order_by(OutboxMessage.id))).scalars()]


async def test_plan_task_referral_stage_on_one_case(world):
    await _agencies(world)
    number = world.ids["case_p1"]
    async with world.client("w1") as c:
        r = await c.post(f"/api/cases/{number}/plan", json={"what": "申请医疗救助", "agency": "yibao",
                                                           "due": "2026-11-30"})
        assert r.status_code == 201, r.text
        assert r.json()["plan"] == [{"id": r.json()["plan"][0]["id"], "what": "申请医疗救助", "staff": None,
                                     "agency": "yibao", "due": "2026-11-30", "status": "open"}]
        r = await c.post(f"/api/cases/{number}/tasks", json={"title": "电话回访", "due": "2026-11-24"})
        assert r.status_code == 201
        task = r.json()["tasks"][0]
        assert task["assignee"] == "w1" and task["overdue"] is False
        assert (await c.get("/api/tasks", params={"overdue": True})).json()["tasks"] == []
        world.clock.advance(days=2)  # 2026-11-25 local: the call is a day late
        detail = (await c.get(f"/api/cases/{number}")).json()
        assert detail["tasks"][0]["overdue"] is True and detail["stage"] == "received"
        overdue = (await c.get("/api/tasks", params={"overdue": True})).json()["tasks"]
        assert [(t["case"], t["title"]) for t in overdue] == [(number, "电话回访")]
        r = await c.patch(f"/api/cases/{number}/tasks/{task['id']}", json={"done": True})
        assert r.json()["tasks"][0]["done_at"] and r.json()["tasks"][0]["overdue"] is False

        r = await c.post(f"/api/cases/{number}/referrals", json={"agency": "minzheng", "reason": "低保申请"})
        assert r.status_code == 201
        ref = r.json()["referrals"][0]
        assert ref["status"] == "sent" and ref["agency"] == "minzheng"
        told = await _outbox(world)
        assert len(told) == 1 and number in told[0] and "县民政局" in told[0]
        r = await c.patch(f"/api/cases/{number}/referrals/{ref['id']}", json={"status": "accepted", "note": "已受理"})
        assert r.json()["referrals"][0]["status"] == "accepted" and len(await _outbox(world)) == 1
        r = await c.patch(f"/api/cases/{number}/referrals/{ref['id']}", json={"status": "done"})
        assert r.json()["referrals"][0]["closed_at"]
        told = await _outbox(world)
        assert len(told) == 2 and "办好了" in told[1]
        r = await c.patch(f"/api/cases/{number}/referrals/{ref['id']}", json={"status": "declined"})
        assert r.status_code == 422 and "cannot become" in r.json()["error"]

        for stage in ("assessed", "plan", "in_service"):
            r = await c.post(f"/api/cases/{number}/stage", json={"stage": stage})
            assert r.status_code == 200 and r.json()["stage"] == stage and r.json()["status"] == "in_progress"
        r = await c.post(f"/api/cases/{number}/stage", json={"stage": "closed"})
        assert r.status_code == 422 and "outcome" in r.json()["error"]
        r = await c.post(f"/api/cases/{number}/stage", json={"stage": "closed", "outcome": "已办低保"})
        assert r.json()["stage"] == "closed" and r.json()["status"] == "closed"
        r = await c.post(f"/api/cases/{number}/referrals", json={"agency": "canlian"})
        assert r.status_code == 422 and "closed" in r.json()["error"]
        r = await c.post(f"/api/cases/{number}/stage", json={"stage": "assessed", "note": "又有新情况"})
        assert r.json()["stage"] == "assessed" and r.json()["status"] == "in_progress"
        r = await c.post(f"/api/cases/{number}/stage", json={"stage": "flying"})
        assert r.status_code == 422 and "unknown stage" in r.json()["error"]
    async with world.db.session() as s:
        actions = {a for (a,) in (await s.execute(select(AuditEntry.action))).all()}
        assert {"case.plan.add", "case.task.add", "case.task.done", "case.referral.add", "case.referral.change",
                "case.stage", "tasks.read", "case.read"} <= actions
    # the villager heard of the referral and its end, and of the stage's status changes — not the internal note
    assert all("已受理" not in text for text in await _outbox(world))


async def test_task_assignee_and_plan_staff_must_cover_the_village(world):
    await _agencies(world)
    number = world.ids["case_p1"]
    async with world.client("sup") as c:
        r = await c.post(f"/api/cases/{number}/tasks", json={"title": "家访", "due": "2026-11-24", "assignee": "w3"})
        assert r.status_code == 422 and "does not cover" in r.json()["error"]
        r = await c.post(f"/api/cases/{number}/tasks", json={"title": "家访", "due": "2026-11-24", "assignee": "w1"})
        assert r.status_code == 201 and r.json()["tasks"][0]["assignee"] == "w1"
        r = await c.post(f"/api/cases/{number}/plan", json={"what": "x", "agency": "nope"})
        assert r.status_code == 422 and "no active agency" in r.json()["error"]
        r = await c.post(f"/api/cases/{number}/plan", json={"what": "x", "agency": "yibao", "staff": "w1"})
        assert r.status_code == 422 and "not both" in r.json()["error"]
    async with world.client("w1") as c:
        assert [t["title"] for t in (await c.get("/api/tasks")).json()["tasks"]] == ["家访"]


async def test_other_areas_cases_answer_404_and_nothing_changes(world):
    await _agencies(world)
    other = world.ids["case_p3"]
    probes = [("POST", f"/api/cases/{other}/stage", {"stage": "assessed"}),
              ("POST", f"/api/cases/{other}/plan", {"what": "x"}),
              ("PATCH", f"/api/cases/{other}/plan/1", {"status": "done"}),
              ("POST", f"/api/cases/{other}/tasks", {"title": "x", "due": "2026-11-24"}),
              ("PATCH", f"/api/cases/{other}/tasks/1", {"done": True}),
              ("POST", f"/api/cases/{other}/referrals", {"agency": "minzheng"}),
              ("PATCH", f"/api/cases/{other}/referrals/1", {"status": "done"})]
    async with world.client("w1") as c:
        for method, url, body in probes:
            r = await c.request(method, url, json=body)
            missing = await c.request(method, url.replace(other, "XZ-2026-999999"), json=body)
            assert r.status_code == missing.status_code == 404, (url, r.text)
            assert r.json() == missing.json()
    async with world.client("viewer") as c:
        r = await c.post(f"/api/cases/{world.ids['case_p1']}/tasks", json={"title": "x", "due": "2026-11-24"})
        assert r.status_code == 403
        assert (await c.get("/api/tasks")).status_code == 403
    async with world.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == other))).scalar_one()
        assert case.stage == "received"
        assert (await s.execute(select(CaseTask))).scalars().first() is None
        assert (await s.execute(select(Referral))).scalars().first() is None
        assert (await s.execute(select(OutboxMessage))).scalars().first() is None


async def test_agencies_are_listed_for_staff_and_kept_by_admins(world):
    await _agencies(world)
    async with world.client("w1") as c:
        codes = [a["code"] for a in (await c.get("/api/agencies")).json()["agencies"]]
        assert codes[:5] == ["minzheng", "canlian", "yibao", "renshe", "bianmin"] and "ngo-care" in codes
        r = await c.post("/api/agencies", json={"code": "fulian", "name": "县妇联"})
        assert r.status_code == 403
    async with world.client("admin") as c:
        r = await c.post("/api/agencies", json={"code": "fulian", "name": "县妇联", "name_en": "Women's Federation"})
        assert r.status_code == 201 and r.json()["name"] == "县妇联"
        assert (await c.post("/api/agencies", json={"code": "fulian", "name": "again"})).status_code == 422
        r = await c.patch("/api/agencies/canlian", json={"active": False})
        assert r.json()["active"] is False
    async with world.client("w1") as c:
        codes = [a["code"] for a in (await c.get("/api/agencies")).json()["agencies"]]
        assert "canlian" not in codes and "fulian" in codes
        r = await c.post(f"/api/cases/{world.ids['case_p1']}/referrals", json={"agency": "canlian"})
        assert r.status_code == 422
