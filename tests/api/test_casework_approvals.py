"""Approvals of casework through the JSON API (the world of tests/api/conftest.py: 石桥镇 with
东坡村 and its worker w1, its supervisor sup; 柳河镇 with w3): with the township's setting off a
close happens at once; with it on, a close and a referral wait (202, listed under `approvals`),
the supervisor is paged with "/approve K", approving does the action (the villager told of the
referral), declining tells the worker; a worker cannot approve; another township's supervisor
and anonymous callers get nothing. SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select

from storage import agencies as agency_service
from storage.models import Area, AuditEntry, ChannelIdentity, NeedRequest, OutboxMessage, Person, Referral, Staff, utcnow


async def _setup(world, *, on: bool) -> None:
    async with world.db.session() as s:
        await agency_service.seed_demo_agencies(s)
        (await s.execute(select(Area).where(Area.code == "t"))).scalar_one().approvals_required = on
        for name, ext in (("sup", "tg-sup"), ("w1", "tg-w1")):
            staff = (await s.execute(select(Staff).where(Staff.username == name))).scalar_one()
            person = Person(display_name=name)
            s.add(person)
            await s.flush()
            s.add(ChannelIdentity(channel="telegram", external_id=ext, person_id=person.id, staff_id=staff.id,
                                  last_inbound_at=utcnow()))


async def _sent_to(world, recipient: str) -> list[str]:
    async with world.db.session() as s:
        return [m.text for m in (await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                                 .order_by(OutboxMessage.id))).scalars()]


async def test_setting_off_closes_at_once(world):
    await _setup(world, on=False)
    number = world.ids["case_p1"]
    async with world.client("w1") as c:
        r = await c.post(f"/api/cases/{number}/stage", json={"stage": "closed", "outcome": "已办好低保"})
        assert r.status_code == 200, r.text
        assert r.json()["stage"] == "closed" and r.json()["approvals"] == []
    assert await _sent_to(world, "tg-sup") == []


async def test_close_and_referral_wait_for_the_supervisor(world):
    await _setup(world, on=True)
    number = world.ids["case_p1"]
    async with world.client("w1") as c:
        r = await c.post(f"/api/cases/{number}/stage", json={"stage": "closed", "outcome": "已办好低保"})
        assert r.status_code == 202, r.text
        assert r.json()["stage"] == "received"
        [close] = r.json()["approvals"]
        assert (close["action"], close["status"], close["outcome"], close["requested_by"]) == (
            "close", "pending", "已办好低保", "w1")
        r = await c.post(f"/api/cases/{number}/referrals", json={"agency": "minzheng", "reason": "低保"})
        assert r.status_code == 202, r.text
        assert r.json()["referrals"] == []
        refer = r.json()["approvals"][1]
        assert (refer["action"], refer["agency"], refer["reason"]) == ("refer", "minzheng", "低保")
        # a worker cannot approve, even their own request
        r = await c.post(f"/api/cases/{number}/approvals/{refer['id']}", json={"decision": "approve"})
        assert r.status_code == 403
    paged = await _sent_to(world, "tg-sup")
    assert any(f"/approve {close['id']}" in t and "已办好低保" in t for t in paged)
    assert any(f"/decline {refer['id']}" in t and "县民政局" in t for t in paged)
    assert not any("县民政局" in t for t in await _sent_to(world, "tg-1001"))

    async with world.client("w3") as c:  # another township's worker: not found
        assert (await c.post(f"/api/cases/{number}/approvals/{refer['id']}",
                             json={"decision": "approve"})).status_code == 404
    async with world.client() as c:
        assert (await c.post(f"/api/cases/{number}/approvals/{refer['id']}",
                             json={"decision": "approve"})).status_code == 401

    async with world.client("sup") as c:
        r = await c.post(f"/api/cases/{number}/approvals/{refer['id']}", json={"decision": "approve"})
        assert r.status_code == 200, r.text
        assert [x["agency"] for x in r.json()["referrals"]] == ["minzheng"]
        r = await c.post(f"/api/cases/{number}/approvals/{close['id']}", json={"decision": "decline",
                                                                            "note": "还要家访"})
        assert r.status_code == 200
        assert r.json()["stage"] == "received"
        assert {a["id"]: a["status"] for a in r.json()["approvals"]} == {close["id"]: "declined",
                                                                          refer["id"]: "approved"}
        r = await c.post(f"/api/cases/{number}/approvals/{close['id']}", json={"decision": "approve"})
        assert r.status_code == 422  # decided already
        other = world.ids["case_p3"]
        assert (await c.post(f"/api/cases/{other}/approvals/{close['id']}",
                             json={"decision": "approve"})).status_code == 404
    assert any("县民政局" in t for t in await _sent_to(world, "tg-1001"))
    told = await _sent_to(world, "tg-w1")
    assert any("没有同意" in t and "已办好低保" in t for t in told)
    assert any("已同意" in t and "县民政局" in t for t in told)
    async with world.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one()
        assert case.stage == "received"
        referral = (await s.execute(select(Referral))).scalar_one()
        assert referral.status == "sent"
        actions = [a for (a,) in (await s.execute(select(AuditEntry.action).where(AuditEntry.target == number)))]
        assert actions.count("case.approval.request") == 2 and actions.count("case.approval.decide") == 2


async def test_supervisor_closes_without_asking(world):
    await _setup(world, on=True)
    number = world.ids["case_p1"]
    async with world.client("sup") as c:
        r = await c.post(f"/api/cases/{number}/stage", json={"stage": "closed", "outcome": "已办好"})
        assert r.status_code == 200 and r.json()["stage"] == "closed"
    async with world.client("w3") as c:  # 柳河镇 has the setting off
        r = await c.post(f"/api/cases/{world.ids['case_p3']}/stage", json={"stage": "closed", "outcome": "好了"})
        assert r.status_code == 200 and r.json()["stage"] == "closed"


async def test_a_closing_status_cannot_skip_the_approval(world):
    """PATCH status closed/resolved would close without the supervisor: refused to a worker
    where the township requires approval (pointing to the close with an outcome), allowed to
    the supervisor and where the setting is off."""
    await _setup(world, on=True)
    number = world.ids["case_p1"]
    async with world.client("w1") as c:
        r = await c.patch(f"/api/cases/{number}", json={"status": "resolved", "outcome": "办好了"})
        assert r.status_code == 422 and "审批" in r.text
        assert (await c.patch(f"/api/cases/{number}", json={"status": "in_progress"})).status_code == 200
    async with world.db.session() as s:
        assert (await s.execute(select(NeedRequest.status).where(NeedRequest.number == number))).scalar_one() \
            == "in_progress"
    async with world.client("sup") as c:
        r = await c.patch(f"/api/cases/{number}", json={"status": "resolved", "outcome": "办好了"})
        assert r.status_code == 200 and r.json()["status"] == "resolved"
