"""Changes through the API go through the case and handoff services: the villager is told
through the outbox, the timeline and the audit log record who did it."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import AuditEntry, CaseEvent, Handoff, NeedRequest, OutboxMessage, Staff


async def _outbox(world, recipient="tg-1001"):
    async with world.db.session() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                     .order_by(OutboxMessage.id))).scalars())


async def test_patch_status_tells_the_villager_and_records_the_worker(world):
    number = world.ids["case_p1"]
    async with world.client("w1") as c:
        r = await c.patch(f"/api/cases/{number}", json={"status": "resolved", "outcome": "已申请医疗救助",
                                                       "note": "材料齐了"})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "resolved" and body["outcome"] == "已申请医疗救助"
        assert body["events"][-1]["kind"] == "status" and body["events"][-1]["staff"] == "w1"
    sent = await _outbox(world)
    assert len(sent) == 1 and number in sent[0].text and "已解决" in sent[0].text and "已申请医疗救助" in sent[0].text
    async with world.db.session() as s:
        w1 = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "case.status"))).scalar_one()
        assert entry.actor == f"staff:{w1.id}" and entry.target == number


async def test_patch_assignee_must_cover_the_village(world):
    number = world.ids["case_p1"]
    async with world.client("sup") as c:
        r = await c.patch(f"/api/cases/{number}", json={"assignee": "w3"})
        assert r.status_code == 422 and "does not cover" in r.json()["error"]
        r = await c.patch(f"/api/cases/{number}", json={"assignee": "nobody"})
        assert r.status_code == 422
        r = await c.patch(f"/api/cases/{number}", json={"assignee": "w1"})
        assert r.status_code == 200 and r.json()["assignee"] == "w1" and r.json()["status"] == "assigned"
        r = await c.patch(f"/api/cases/{number}", json={"status": "flying"})
        assert r.status_code == 422 and "unknown status" in r.json()["error"]
    assert len(await _outbox(world)) == 1  # "a social worker is assigned"


async def test_notes_are_internal(world):
    number = world.ids["case_p1"]
    async with world.client("w1") as c:
        r = await c.post(f"/api/cases/{number}/notes", json={"text": "家访过，老人行动不便"})
        assert r.status_code == 201
        r = await c.post(f"/api/cases/{number}/notes", json={"text": ""})
        assert r.status_code == 422 and "error" in r.json()
    async with world.db.session() as s:
        note = (await s.execute(select(CaseEvent).where(CaseEvent.kind == "note"))).scalar_one()
        assert note.public is False and note.text == "家访过，老人行动不便"
    assert await _outbox(world) == []


async def test_claim_message_transfer_close(world):
    hid = world.ids["handoff_p1"]
    async with world.client("w1") as w1, world.client("sup") as sup:
        r = await w1.post(f"/api/handoffs/{hid}/messages", json={"text": "您好"})
        assert r.status_code == 409  # not claimed yet
        r = await w1.post(f"/api/handoffs/{hid}/claim")
        assert r.status_code == 200 and r.json()["claimed_by"] == "w1"
        r = await sup.post(f"/api/handoffs/{hid}/claim")
        assert r.status_code == 409 and "w1" in r.json()["error"]
        r = await w1.post(f"/api/handoffs/{hid}/messages", json={"text": "您好，我是东坡村的社工"})
        assert r.status_code == 201
        r = await sup.post(f"/api/handoffs/{hid}/messages", json={"text": "插话"})
        assert r.status_code == 409  # only the claimer answers
        r = await w1.post(f"/api/handoffs/{hid}/transfer", json={"to": "w3"})
        assert r.status_code == 422  # w3 does not cover v1
        r = await w1.post(f"/api/handoffs/{hid}/transfer", json={"to": "sup"})
        assert r.status_code == 200 and r.json()["claimed_by"] == "sup"
        r = await sup.post(f"/api/handoffs/{hid}/close", json={"outcome": "已解答"})
        assert r.status_code == 200 and r.json()["status"] == "closed" and r.json()["outcome"] == "已解答"
    texts = [m.text for m in await _outbox(world)]
    assert "【社工w1工】您好，我是东坡村的社工" in texts and not any("插话" in t for t in texts)
    assert len(texts) == 3  # claimed, answer, closed


async def test_an_admin_token_acts_as_its_account(world):
    hid = world.ids["handoff_p3"]
    async with world.client("admin") as c:
        assert (await c.post(f"/api/handoffs/{hid}/claim")).json()["claimed_by"] == "admin"
        assert (await c.post(f"/api/handoffs/{hid}/messages", json={"text": "管理员来了"})).status_code == 201
    async with world.db.session() as s:
        admin = (await s.execute(select(Staff).where(Staff.username == "admin"))).scalar_one()
        assert (await s.get(Handoff, hid)).claimed_by_staff_id == admin.id
        entry = (await s.execute(select(AuditEntry).where(AuditEntry.action == "handoff.message"))).scalar_one()
        assert entry.actor == f"staff:{admin.id}"


async def test_errors_are_json_for_people(world):
    async with world.client("w1") as c:
        r = await c.get("/api/cases/XZ-2026-999999")
        assert r.status_code == 404 and r.json() == {"error": "找不到这个个案 / case not found"}
        r = await c.get("/api/nowhere")
        assert r.status_code == 404 and "error" in r.json()
        r = await c.post(f"/api/handoffs/{world.ids['handoff_p1']}/messages", json={"wrong": 1})
        assert r.status_code == 422 and "text" in r.json()["error"]
        r = await c.put("/api/flows/greeting", json={"yaml": "x"})
        assert r.status_code == 403 and "admins" in r.json()["error"]
    async with world.db.session() as s:
        assert (await s.execute(select(NeedRequest).where(NeedRequest.status != "new"))).first() is None
