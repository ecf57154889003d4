"""A worker links their messenger with a one-time invite code, through the real dispatcher:
`/start w-CODE` (Telegram deep link; WeChat turns "w-CODE" into the same payload)."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import ChannelIdentity
from storage.staff_invites import create_invite


async def test_invite_code_links_once_and_only_once(runner):
    async with runner.services.db.session() as s:
        _, code = await create_invite(s, "wangfang")
    out = await runner.send("tg-wang", payload=f"/start w-{code}", channel="telegram")
    assert "绑定好了" in out[0].text
    again = await runner.send("tg-other", payload=f"/start w-{code}", channel="telegram")
    assert "用过了" in again[0].text
    wrong = await runner.send("tg-third", payload="/start w-NOPE12345", channel="telegram")
    assert "邀请码不对" in wrong[0].text
    async with runner.services.db.session() as s:
        linked = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.staff_id.is_not(None)))).scalars().all()
    assert [(i.channel, i.external_id) for i in linked] == [("telegram", "tg-wang")]
