"""Approvals from the workers' messenger (bot/desk/commands.py, storage/approvals.py), through
the real channel paths in-process (tests/channels/test_desk_casework.py's world: WeChat
callbacks with wechatpy's crypto, Telegram through getUpdates against the fake Bot API). With
石桥镇's setting on, a worker's referral waits; the township's supervisor is paged on their own
messenger with "/approve K"; approving makes the referral (the villager told), declining the
next one tells the worker; a worker's own "/approve" is "not found". SQLite and PostgreSQL."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from test_desk_casework import ALWAYS, TelegramWorker, WeChatWorker, rows, seed  # noqa: E402,F401
from wechat_fake import AES_KEY, eventually, make_services, running  # noqa: E402

from storage.models import (  # noqa: E402
    Area,
    AuditEntry,
    CaseApproval,
    ChannelIdentity,
    Conversation,
    Person,
    Referral,
    Staff,
    StaffArea,
    utcnow,
)


async def add_supervisor(services, *, channel: str, sender: str) -> None:
    async with services.db.session() as s:
        township = (await s.execute(select(Area).where(Area.code == "t"))).scalar_one()
        township.approvals_required = True
        sup = Staff(username="sunming", display_name="主管 孙明", roles=["supervisor"], on_duty=ALWAYS)
        s.add(sup)
        await s.flush()
        s.add(StaffArea(staff_id=sup.id, area_id=township.id))
        p = Person(display_name="孙明")
        s.add(p)
        await s.flush()
        s.add(Conversation(person_id=p.id))
        s.add(ChannelIdentity(channel=channel, external_id=sender, person_id=p.id, staff_id=sup.id,
                              last_inbound_at=utcnow()))


def sent_to(wx, tg, channel: str, who: str):
    """What the bot pushed (not replied) to a messenger user."""
    if channel == "wechat":
        return lambda: [c["body"]["text"]["content"] for c in wx.calls_to("message/custom/send")
                        if c["body"].get("touser") == who and "text" in c["body"]]
    return lambda: [c["text"] for c in tg.calls_to("sendMessage") if str(c.get("chat_id")) == who]


@pytest.mark.parametrize("channel", ["wechat", "telegram"])
async def test_referral_waits_for_the_supervisors_tap(db, wx, tg, tmp_path, channel):
    services = make_services(db, wx, tmp_path, handler=None, wechat_aes_key=AES_KEY, telegram_token=tg.token,
                             telegram_base_url=tg.base_url, data_dir=tmp_path / "data")
    slash = channel == "telegram"
    w_id, s_id = ("oWorker", "oSup") if channel == "wechat" else ("5001", "5002")
    async with running(services) as client:
        ids = await seed(services, channel=channel, sender=w_id)
        await add_supervisor(services, channel=channel, sender=s_id)
        worker = WeChatWorker(client, w_id) if channel == "wechat" else TelegramWorker(tg, int(w_id))
        sup = WeChatWorker(client, s_id) if channel == "wechat" else TelegramWorker(tg, int(s_id))
        if channel == "wechat":
            sup.peer = worker.peer  # one peer numbers the messages of both (WeChat dedupes by MsgId)
        mine = ids["mine"]

        said = await worker.say(f"/refer {mine['short']} 1 低保停发" if slash else f"转介 {mine['short']} 民政 低保停发")
        assert "已提交镇上主管审批" in said
        assert not await rows(services, Referral)
        [approval] = await rows(services, CaseApproval)
        assert (approval.action, approval.status) == ("refer", "pending")
        paged = await eventually(lambda: [t for t in sent_to(wx, tg, channel, s_id)() if "待审批" in t])
        assert f"/approve {approval.id}" in paged[0] and "县民政局" in paged[0] and mine["case"] in paged[0]

        refused = await worker.say(f"/approve {approval.id}" if slash else f"同意 {approval.id}")
        assert "找不到审批" in refused and not await rows(services, Referral)

        done = await sup.say(f"/approve {approval.id}" if slash else f"同意 {approval.id}")
        assert f"审批 {approval.id} 已同意" in done
        [referral] = await rows(services, Referral)
        assert (referral.status, referral.reason, referral.staff_id) == ("sent", "低保停发", ids["staff"])
        told = await eventually(lambda: [c["body"]["text"]["content"] for c in wx.calls_to("message/custom/send")
                                         if c["body"].get("touser") == "oVillagerA"])
        assert "县民政局" in told[0]
        again = await sup.say(f"/approve {approval.id}" if slash else f"同意 {approval.id}")
        assert "已处理" in again and len(await rows(services, Referral)) == 1

        await worker.say(f"/refer {mine['short']} 2" if slash else f"转介 {mine['short']} 2")
        second = (await rows(services, CaseApproval, CaseApproval.status == "pending"))[0]
        declined = await sup.say(f"/decline {second.id} 先家访" if slash else f"不同意 {second.id} 先家访")
        assert "不同意" in declined
        [second] = await rows(services, CaseApproval, CaseApproval.id == second.id)
        assert second.status == "declined" and len(await rows(services, Referral)) == 1
        back = await eventually(lambda: [t for t in sent_to(wx, tg, channel, w_id)() if "没有同意" in t])
        assert mine["case"] in back[0]
        assert len(await rows(services, AuditEntry, AuditEntry.action == "case.approval.decide")) == 2
