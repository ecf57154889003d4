"""Casework from the workers' messenger (bot/desk/casework.py), through the real channel paths
in-process (the ASGI app with its lifespan): WeChat callbacks signed and encrypted with
wechatpy's crypto (tests/channels/wechat_fake.py) and Telegram through our getUpdates loop
against the fake Bot API (telegram_fake.py). The same commands and replies on both: a case's
summary, a task done, a referral (the villager told), a flag, the offers for a case and one
linked; another area's case and task are "not found" and left unchanged. Every outcome is
checked in the database. SQLite and PostgreSQL."""
from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from wechat_fake import AES_KEY, WeChatPeer, eventually, make_services, running  # noqa: E402
from telegram_fake import FakeBotApi  # noqa: E402

from storage import agencies, casework, offers  # noqa: E402
from storage import cases as case_store  # noqa: E402
from storage.models import (  # noqa: E402
    AuditEntry,
    CaseTask,
    ChannelIdentity,
    Conversation,
    Flag,
    Match,
    OutboxMessage,
    Person,
    Referral,
    Staff,
    StaffArea,
    utcnow,
)
from tests.support import add_areas  # noqa: E402

ALWAYS = {"always": True}


async def seed(services, *, channel: str, sender: str) -> dict:
    """Areas; a worker of 东坡村 linked on `channel`; a villager of 东坡村 with a case, a task and
    an approved offer that serves it; a villager of 西坡村 (another township) with a case and a
    task the worker must not reach. Returns the ids and numbers the test needs."""
    now = utcnow()
    today = casework.local_day(now)
    async with services.db.session() as s:
        areas = await add_areas(s, ("c", "青山县", "county", None), ("t", "石桥镇", "township", "c"),
                                ("v1", "东坡村", "village", "t"), ("t2", "河口镇", "township", "c"),
                                ("v2", "西坡村", "village", "t2"))
        await agencies.seed_demo_agencies(s)
        staff = Staff(username="wangfang", display_name="社工 王芳", roles=["worker"], on_duty=ALWAYS)
        other = Staff(username="zhaoli", display_name="社工 赵丽", roles=["worker"], on_duty=ALWAYS)
        s.add_all([staff, other])
        await s.flush()
        s.add_all([StaffArea(staff_id=staff.id, area_id=areas["v1"].id),
                   StaffArea(staff_id=other.id, area_id=areas["v2"].id)])
        wp = Person(display_name="王芳")
        s.add(wp)
        await s.flush()
        s.add(Conversation(person_id=wp.id))
        s.add(ChannelIdentity(channel=channel, external_id=sender, person_id=wp.id, staff_id=staff.id,
                              last_inbound_at=now))
        ids = {}
        for key, name, village, openid in (("mine", "李秀英", "v1", "oVillagerA"), ("theirs", "张三", "v2", "oVillagerB")):
            person = Person(display_name=name, village_id=areas[village].id, consent_given=True)
            s.add(person)
            await s.flush()
            s.add(Conversation(person_id=person.id))
            s.add(ChannelIdentity(channel="wechat", external_id=openid, person_id=person.id, last_inbound_at=now))
            case = await case_store.open_case(s, person_id=person.id, category="livelihood", description=f"{name}家里困难",
                                              village_id=areas[village].id, now=now)
            task = await casework.add_task(s, case, f"上门看望{name}", today - timedelta(days=1),
                                           by_staff_id=staff.id if key == "mine" else other.id)
            ids[key] = {"person": person.id, "case": case.number, "short": str(int(case.number.rsplit("-", 1)[1])),
                        "task": task.id}
        offer = await offers.create_offer(s, offerer_kind="organisation", offerer_name="青禾公益",
                                          categories=["livelihood"], description="冬衣和棉被", quantity=3,
                                          area_id=areas["t"].id, contact="13812345678", now=now)
        await offers.review_offer(s, offer, "approved", staff_id=staff.id)
        ids["offer"] = offer.id
        ids["staff"] = staff.id
    return ids


class WeChatWorker:
    def __init__(self, client, openid: str):
        self.peer, self.openid = WeChatPeer(client, mode="safe"), openid

    async def say(self, text: str) -> str:
        return self.peer.reply_of(await self.peer.post(self.peer.text(self.openid, text)))["Content"]


class TelegramWorker:
    def __init__(self, api: FakeBotApi, chat_id: int):
        self.api, self.chat_id = api, chat_id

    async def say(self, text: str) -> str:
        before = len(self.api.calls_to("sendMessage"))
        self.api.push_message(self.chat_id, text)
        sent = await eventually(lambda: [c for c in self.api.calls_to("sendMessage")[before:]
                                         if str(c.get("chat_id")) == str(self.chat_id)])
        return sent[0]["text"]


async def rows(services, model, *where):
    async with services.db.session() as s:
        return list((await s.execute(select(model).where(*where))).scalars())


@pytest.mark.parametrize("channel", ["wechat", "telegram"])
async def test_casework_commands_on_the_messenger(db, wx, tg, tmp_path, channel):
    services = make_services(db, wx, tmp_path, handler=None, wechat_aes_key=AES_KEY, telegram_token=tg.token,
                             telegram_base_url=tg.base_url, data_dir=tmp_path / "data")
    slash = channel == "telegram"  # Telegram's worker types the slash forms, WeChat's the Chinese words
    async with running(services) as client:
        ids = await seed(services, channel=channel, sender="oWorker" if channel == "wechat" else "5001")
        worker = WeChatWorker(client, "oWorker") if channel == "wechat" else TelegramWorker(tg, 5001)
        mine, theirs = ids["mine"], ids["theirs"]

        shown = await worker.say(f"/case {mine['short']}" if slash else f"个案 {mine['short']}")
        assert shown.startswith(f"个案 {mine['case']} · 李秀英 · 东坡村")
        assert "需要：生活困难" in shown and "阶段：已接收" in shown
        assert f"任务 {mine['task']}：上门看望李秀英" in shown and "已逾期" in shown
        assert await rows(services, AuditEntry, AuditEntry.action == "case.view", AuditEntry.target == mine["case"])

        # another area's case and task: not found, nothing read or changed
        refused = await worker.say(f"/case {theirs['case']}" if slash else f"个案 {theirs['case']}")
        assert "找不到个案" in refused and "张三" not in refused
        refused = await worker.say(f"/task {theirs['task']} done" if slash else f"任务 {theirs['task']} 完成")
        assert "找不到任务" in refused
        [their_task] = await rows(services, CaseTask, CaseTask.id == theirs["task"])
        assert their_task.done_at is None
        refused = await worker.say(f"/flag {theirs['short']} 因病" if slash else f"关注 {theirs['short']} 因病")
        assert "找不到个案" in refused
        assert not await rows(services, Flag, Flag.person_id == theirs["person"])

        done = await worker.say(f"/task {mine['task']} done" if slash else f"任务 {mine['task']} 完成")
        assert f"任务 {mine['task']}「上门看望李秀英」已完成" in done
        [task] = await rows(services, CaseTask, CaseTask.id == mine["task"])
        assert task.done_at is not None

        listing = await worker.say(f"/refer {mine['short']}" if slash else f"转介 {mine['short']}")
        assert "1. 县民政局" in listing
        referred = await worker.say(f"/refer {mine['short']} 1 低保停发" if slash else f"转介 {mine['short']} 民政 低保停发")
        assert f"个案 {mine['case']} 已转介给县民政局" in referred
        [referral] = await rows(services, Referral)
        assert (referral.status, referral.reason, referral.staff_id) == ("sent", "低保停发", ids["staff"])
        told = await eventually(lambda: [c["body"]["text"]["content"] for c in wx.calls_to("message/custom/send")
                                         if c["body"].get("touser") == "oVillagerA"])
        assert "县民政局" in told[0] and mine["case"] in told[0]
        refused = await worker.say(f"/refer {mine['short']} 没有这个机构" if slash else f"转介 {mine['short']} 没有这个机构")
        assert "没有机构" in refused and len(await rows(services, Referral)) == 1

        flagged = await worker.say(f"/flag {mine['short']} 因病返贫风险" if slash else f"关注 {mine['short']} 因病返贫风险")
        assert "防返贫关注" in flagged
        [flag] = await rows(services, Flag, Flag.person_id == mine["person"])
        assert (flag.kind, flag.reason, flag.cleared_at) == ("return_to_poverty_watch", "因病返贫风险", None)

        offered = await worker.say(f"/match {mine['short']}" if slash else f"配对 {mine['short']}")
        assert "1. 青禾公益：冬衣和棉被（剩 3 件，本镇" in offered
        assert "13812345678" not in offered  # the offerer's contact stays on the web
        linked = await worker.say(f"/link {mine['short']} 1" if slash else "link 1")
        assert "青禾公益" in linked and "待确认" in linked
        [match] = await rows(services, Match)
        assert (match.offer_id, match.status) == (ids["offer"], "tentative")
        again = await worker.say(f"/link {mine['short']} 1" if slash else "链接 1")
        assert "已经有配对" in again and len(await rows(services, Match)) == 1

        shown = await worker.say(f"/case {mine['case']}" if slash else f"个案 {mine['case'].lower()}")
        assert "县民政局：已转出" in shown and "关注：防返贫监测（因病返贫风险）" in shown
        assert f"任务 {mine['task']}" not in shown  # done tasks leave the summary


async def test_a_worker_without_a_case_number_gets_the_usage_and_nothing_changes(db, wx, tmp_path):
    services = make_services(db, wx, tmp_path, handler=None, wechat_aes_key=AES_KEY)
    async with running(services) as client:
        ids = await seed(services, channel="wechat", sender="oWorker")
        worker = WeChatWorker(client, "oWorker")
        assert "先发“配对 个案号”" in await worker.say("link 1")
        assert "请写：任务 N 完成" in await worker.say(f"任务 {ids['mine']['task']}")
        assert "1 到 1 之间" in (await worker.say(f"/link {ids['mine']['short']} 7"))
        assert not await rows(services, Match)
        [task] = await rows(services, CaseTask, CaseTask.id == ids["mine"]["task"])
        assert task.done_at is None
        assert not await rows(services, OutboxMessage, OutboxMessage.recipient == "oVillagerA")
