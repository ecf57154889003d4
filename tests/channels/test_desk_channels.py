"""The desk across real channel paths, in-process (the ASGI app with its lifespan: adapters,
dispatcher, outbox sender): WeChat callbacks signed and encrypted with wechatpy's crypto
(tests/channels/wechat_fake.py), Telegram through our getUpdates loop against the fake Bot API
(telegram_fake.py, which, unlike the npm emulator, serves files). A villager and a worker on
WeChat; a villager on WeChat whose photo reaches a worker on Telegram. SQLite and PostgreSQL."""
from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from wechat_fake import AES_KEY, WeChatPeer, eventually, make_services, running  # noqa: E402

from flows.mission.handoff import route_new_handoff  # noqa: E402
from storage import handoffs, routing  # noqa: E402
from storage.models import (  # noqa: E402
    ChannelIdentity,
    Conversation,
    Handoff,
    Person,
    Staff,
    StaffArea,
    utcnow,
)
from tests.support import add_areas  # noqa: E402

ALWAYS = {"always": True}


async def seed(services, *, worker_channel: str, worker_id: str, villager_openid: str) -> int:
    """Areas, a worker of 东坡村 linked on `worker_channel`, a villager of 东坡村 on WeChat with
    a new handoff offered the real way. Returns the handoff id."""
    now = utcnow()
    async with services.db.session() as s:
        areas = await add_areas(s, ("c", "青山县", "county", None), ("t", "石桥镇", "township", "c"),
                                ("v1", "东坡村", "village", "t"))
        staff = Staff(username="wangfang", display_name="社工 王芳", roles=["worker"], on_duty=ALWAYS)
        s.add(staff)
        await s.flush()
        s.add(StaffArea(staff_id=staff.id, area_id=areas["v1"].id))
        wp = Person(display_name="王芳")
        s.add(wp)
        await s.flush()
        s.add(Conversation(person_id=wp.id))
        s.add(ChannelIdentity(channel=worker_channel, external_id=worker_id, person_id=wp.id, staff_id=staff.id,
                              last_inbound_at=now))
        villager = Person(display_name="李秀英", village_id=areas["v1"].id, consent_given=True)
        s.add(villager)
        await s.flush()
        s.add(Conversation(person_id=villager.id))
        s.add(ChannelIdentity(channel="wechat", external_id=villager_openid, person_id=villager.id,
                              last_inbound_at=now))
        await s.flush()
        h, _ = await handoffs.open_handoff(s, villager.id, summary="想问低保", now=now)
        await route_new_handoff(s, h, routing.DeskRules(), now)
        return h.id


async def handoff_row(services, handoff_id):
    async with services.db.session() as s:
        return await s.get(Handoff, handoff_id)


def wx_texts(api, openid):
    return [c["body"]["text"]["content"] for c in api.calls_to("message/custom/send")
            if c["body"].get("touser") == openid and c["body"].get("msgtype") == "text"]


async def test_villager_and_worker_on_wechat(db, wx, tmp_path):
    services = make_services(db, wx, tmp_path, handler=None, wechat_aes_key=AES_KEY)
    async with running(services) as client:
        peer = WeChatPeer(client, mode="safe")
        hid = await seed(services, worker_channel="wechat", worker_id="oWorker", villager_openid="oVillager")
        services.wake_outbox()
        offer = await eventually(lambda: [t for t in wx_texts(wx, "oWorker") if f"#{hid}" in t])
        assert f"回复“接 {hid}”认领" in offer[0] and "东坡村" in offer[0]

        claimed = peer.reply_of(await peer.post(peer.text("oWorker", f"接 {hid}")))
        assert f"您认领了 #{hid}" in claimed["Content"]
        await eventually(lambda: any("社工王芳来了" in t for t in wx_texts(wx, "oVillager")))

        quiet = await peer.post(peer.text("oVillager", "我家低保停了"))
        assert quiet.text == "success"  # the bot says nothing while a human talks
        await eventually(lambda: f"#{hid}【李秀英】我家低保停了" in wx_texts(wx, "oWorker"))
        await peer.post(peer.text("oWorker", "您好，我是王芳，帮您查"))
        await eventually(lambda: "【社工王芳】您好，我是王芳，帮您查" in wx_texts(wx, "oVillager"))

        done = peer.reply_of(await peer.post(peer.text("oWorker", "结束 已解答")))
        assert "已结束" in done["Content"]
        question = await eventually(lambda: [t for t in wx_texts(wx, "oVillager") if "这次帮到您了吗" in t])
        assert "1 满意" in question[0]
        thanks = peer.reply_of(await peer.post(peer.text("oVillager", "1")))
        assert "谢谢您的评价" in thanks["Content"]
        assert (await handoff_row(services, hid)).satisfaction == 1
        again = peer.reply_of(await peer.post(peer.text("oVillager", "你好")))
        assert again["Content"].startswith("收到：你好")  # the bot (here the stand-in dialogue) answers again


async def test_villager_on_wechat_sends_a_photo_to_a_worker_on_telegram(db, wx, tg, tmp_path):
    services = make_services(db, wx, tmp_path, handler=None, telegram_token=tg.token,
                             telegram_base_url=tg.base_url, data_dir=tmp_path / "data")
    photo = b"\xff\xd8\xff\xe0" + bytes(range(200)) * 5
    wx.media["MEDIA-1"] = (photo, "image/jpeg")
    async with running(services) as client:
        peer = WeChatPeer(client)
        hid = await seed(services, worker_channel="telegram", worker_id="5001", villager_openid="oVillager2")
        services.wake_outbox()
        offer = await eventually(lambda: [c for c in tg.calls_to("sendMessage") if f"#{hid}" in c.get("text", "")])
        keyboard = offer[0]["reply_markup"]["inline_keyboard"]
        assert [b["callback_data"] for row in keyboard for b in row] == [f"/claim {hid}", f"/skip {hid}"]

        queued = peer.reply_of(await peer.post(peer.image("oVillager2", "MEDIA-1")))
        assert "社工接手后会在这里回复您" in queued["Content"]  # still waiting: kept on the handoff, not relayed
        waiting = await handoff_row(services, hid)
        assert waiting.status == "waiting" and [a["kind"] for a in waiting.attachments] == ["photo"]
        assert not tg.calls_to("sendPhoto")

        tg.push_callback(5001, f"/claim {hid}")  # the worker presses 认领 Claim
        await eventually(lambda: any(f"您认领了 #{hid}" in c.get("text", "") for c in tg.calls_to("sendMessage")))
        assert (await handoff_row(services, hid)).status == "claimed"

        await peer.post(peer.image("oVillager2", "MEDIA-1"))
        sent = await eventually(lambda: tg.calls_to("sendPhoto"))
        assert sent[0]["chat_id"] == "5001" and sent[0]["photo"]["data"] == photo
        assert any(f"#{hid}【李秀英】" in c.get("text", "") and "照片" in c.get("text", "")
                   for c in tg.calls_to("sendMessage"))

        tg.push_message(5001, "收到照片，我明天去看看")
        await eventually(lambda: "【社工王芳】收到照片，我明天去看看" in wx_texts(wx, "oVillager2"))
        tg.push_message(5001, "/close 已上门")
        await eventually(lambda: any("这次帮到您了吗" in t for t in wx_texts(wx, "oVillager2")))
        row = await handoff_row(services, hid)
        assert (row.status, row.outcome) == ("closed", "已上门")
        async with services.db.session() as s:
            mode = (await s.execute(select(Conversation.mode).join(
                ChannelIdentity, ChannelIdentity.person_id == Conversation.person_id).where(
                ChannelIdentity.external_id == "oVillager2"))).scalar_one()
        assert mode == "bot"


def wx_media(api, openid, msgtype):
    return [c["body"][msgtype]["media_id"] for c in api.calls_to("message/custom/send")
            if c["body"].get("touser") == openid and c["body"].get("msgtype") == msgtype]


async def _claimed_on_wechat(services, client, peer, wx, villager: str) -> int:
    hid = await seed(services, worker_channel="wechat", worker_id="oWorker", villager_openid=villager)
    services.wake_outbox()
    await eventually(lambda: [t for t in wx_texts(wx, "oWorker") if f"#{hid}" in t])
    peer.reply_of(await peer.post(peer.text("oWorker", f"接 {hid}")))
    await eventually(lambda: any("社工王芳来了" in t for t in wx_texts(wx, villager)))
    return hid


async def test_a_villagers_photo_and_voice_reach_a_worker_on_wechat_as_media(db, wx, tmp_path):
    """The callbacks are encrypted with wechatpy's own crypto; the WeChat API is the loopback
    stand-in of wechat_fake.py (no real WeChat server can run here): it takes wechatpy's
    multipart upload and records the customer-service image and voice messages."""
    services = make_services(db, wx, tmp_path, handler=None, wechat_aes_key=AES_KEY)
    photo = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    voice = b"#!AMR\n" + bytes(range(100, 200)) * 3
    wx.media["PIC-1"] = (photo, "image/jpeg")
    wx.media["VOICE-1"] = (voice, "audio/amr")
    async with running(services) as client:
        peer = WeChatPeer(client, mode="safe")
        hid = await _claimed_on_wechat(services, client, peer, wx, "oVillager3")

        await peer.post(peer.image("oVillager3", "PIC-1"))
        [image_id] = await eventually(lambda: wx_media(wx, "oWorker", "image"))
        assert wx.uploads[image_id]["type"] == "image" and wx.uploads[image_id]["data"] == photo
        assert any(f"#{hid}【李秀英】" in t and "照片" in t for t in wx_texts(wx, "oWorker"))  # the text first

        await peer.post(peer.voice("oVillager3", "VOICE-1", recognition="屋顶漏了"))
        [voice_id] = await eventually(lambda: wx_media(wx, "oWorker", "voice"))
        assert wx.uploads[voice_id]["type"] == "voice" and wx.uploads[voice_id]["data"] == voice
        assert not any("无法在微信里发送" in t for t in wx_texts(wx, "oWorker"))


async def test_when_wechat_refuses_the_upload_the_worker_gets_the_link(db, wx, tmp_path):
    """The WeChat API stand-in (no real WeChat server can run here) refuses the upload with
    40004: the worker gets a line with the link to the conversation page instead."""
    services = make_services(db, wx, tmp_path, handler=None, wechat_aes_key=AES_KEY,
                             web_base_url="https://desk.example.org/")
    wx.media["PIC-2"] = (b"\x89PNG\r\n\x1a\n" + bytes(300), "image/png")
    wx.refuse_uploads = True
    async with running(services) as client:
        peer = WeChatPeer(client, mode="safe")
        hid = await _claimed_on_wechat(services, client, peer, wx, "oVillager4")
        await peer.post(peer.image("oVillager4", "PIC-2"))
        line = await eventually(lambda: [t for t in wx_texts(wx, "oWorker") if "无法在微信里发送" in t])
        assert line == [f"（照片无法在微信里发送，请在网页上查看：https://desk.example.org/handoffs/{hid}）"]
        assert wx.calls_to("media/upload") and wx_media(wx, "oWorker", "image") == []
