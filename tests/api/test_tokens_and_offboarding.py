"""Token revocation and offboarding, through the services and the API."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from storage import staff as staff_service
from storage import staff_access
from storage import staff_invites
from storage import staff_offboarding
from storage.models import ApiToken, ChannelIdentity, Handoff, NeedRequest, Staff, StaffSession
from tests.api.helpers import sign_in


async def test_a_revoked_token_stops_working(world):
    async with world.client("w1") as c:
        assert (await c.get("/api/me")).json()["username"] == "w1"
        async with world.db.session() as s:
            assert await staff_access.revoke_token(s, "w1-token") == 1
        r = await c.get("/api/me")
        assert r.status_code == 401 and "revoked" in r.json()["error"]
    async with world.db.session() as s:
        row = (await s.execute(select(ApiToken).where(ApiToken.name == "w1-token"))).scalar_one()
        assert row.revoked_at is not None and row.token_hash != world.tokens["w1"]


async def test_deactivate_moves_open_work_and_ends_access(world):
    number, hid = world.ids["case_p1"], world.ids["handoff_p1"]
    async with world.client("sup") as c:
        await c.patch(f"/api/cases/{number}", json={"assignee": "w1"})
    async with world.client("w1") as c:
        assert (await c.post(f"/api/handoffs/{hid}/claim")).status_code == 200
    async with world.client() as browser:
        await sign_in(browser, "w1")
        async with world.db.session() as s:
            invite, code = await staff_invites.create_invite(s, "w1")
            await staff_invites.redeem_invite(s, code, "telegram", "tg-w1")
        async with world.db.session() as s:  # open work and no successor: refused with a clear message
            with pytest.raises(staff_service.StaffError, match="--reassign-to"):
                await staff_offboarding.deactivate(s, "w1", None)
        async with world.db.session() as s:
            result = await staff_offboarding.deactivate(s, "w1", "sup", now=world.clock())
        assert (result.handoffs, result.cases, result.tokens) == (1, 1, 1)
        assert (await browser.get("/api/me")).status_code == 401  # the web session ended
    async with world.client("w1") as c:
        assert (await c.get("/api/me")).status_code == 401
    async with world.db.session() as s:
        sup = (await s.execute(select(Staff).where(Staff.username == "sup"))).scalar_one()
        w1 = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
        assert w1.active is False
        assert (await s.get(Handoff, hid)).claimed_by_staff_id == sup.id
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one()
        assert case.assigned_staff_id == sup.id
        assert (await s.execute(select(StaffSession).where(StaffSession.staff_id == w1.id))).first() is None
        assert (await s.execute(select(ChannelIdentity).where(ChannelIdentity.staff_id == w1.id))).first() is None
    async with world.client() as c:
        r = await sign_in(c, "w1")
        assert r.status_code == 401  # a deactivated account cannot sign in


async def test_invite_codes_are_one_time_and_hashed(world):
    async with world.db.session() as s:
        invite, code = await staff_invites.create_invite(s, "w3", now=world.clock())
        assert invite.code_hash != code and code not in invite.code_hash
    async with world.db.session() as s:
        staff = await staff_invites.redeem_invite(s, f"/start w-{code.lower()}", "wechat", "wx-openid-3",
                                                  now=world.clock())
        assert staff.username == "w3"
        ident = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == "wx-openid-3"))
                 ).scalar_one()
        assert ident.staff_id == staff.id
    async with world.db.session() as s:
        with pytest.raises(staff_service.StaffError, match="already used"):
            await staff_invites.redeem_invite(s, code, "telegram", "tg-someone-else", now=world.clock())
    async with world.db.session() as s:
        _, late = await staff_invites.create_invite(s, "w3", now=world.clock())
    world.clock.advance(days=8)
    async with world.db.session() as s:
        with pytest.raises(staff_service.StaffError, match="expired"):
            await staff_invites.redeem_invite(s, late, "telegram", "tg-late", now=world.clock())
