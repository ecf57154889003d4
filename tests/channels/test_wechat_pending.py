"""A WeChat message answered `success` before its turn committed survives the process: it is
kept as pending in the database until its turn commits, and the leader's job
`wechat_recover_pending` handles what a stopped process left. Through the real webhook
(callbacks signed and encrypted with wechatpy's crypto, tests/channels/wechat_fake.WeChatPeer),
on SQLite and PostgreSQL (the `db` fixture)."""
from __future__ import annotations

import asyncio
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))  # wechat_fake, whether or not tests/channels is a package
from wechat_fake import AES_KEY, EchoHandler, WeChatPeer, eventually, make_services, running  # noqa: E402

from bot.channels.wechat.adapter import PENDING_AGE, _pack  # noqa: E402
from bot.channels.wechat.callback import Parsed  # noqa: E402
from bot.channels.wechat.jobs import recover_pending_job  # noqa: E402
from storage.erasure import erase_person  # noqa: E402
from storage.models import ChannelIdentity, Message, OutboxMessage  # noqa: E402
from vocab.messages import Inbound  # noqa: E402


class Clock:
    def __init__(self):
        self.now = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now


async def inbound_texts(services) -> list[str]:
    async with services.db.session() as s:
        rows = (await s.execute(select(Message).where(Message.direction == "in", Message.channel == "wechat")
                                .order_by(Message.text))).scalars()
        return [m.text for m in rows]


async def outbox(services) -> list[tuple[str, str, str, str]]:
    async with services.db.session() as s:
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.channel == "wechat")
                                .order_by(OutboxMessage.recipient, OutboxMessage.id))).scalars()
        return [(r.recipient, r.text.split("｜")[0], r.status, r.delivery) for r in rows]


async def pending(services) -> list[dict]:
    return await services.channel_store.pending("wechat", services.clock())


async def test_a_message_answered_success_is_handled_after_a_crash(db, wx, tmp_path):
    clock = Clock()
    held = EchoHandler(gate=asyncio.Event())  # never opened: the turns never finish
    first = make_services(db, wx, tmp_path, handler=held, clock=clock, max_turns=1, wechat_aes_key=AES_KEY)
    async with running(first) as client:
        adapter = client.app.state.wechat
        adapter.passive_seconds = 0.2
        peer = WeChatPeer(client, mode="safe")
        busy = await peer.post(peer.text("oBusy", "在吗"))  # its turn holds the only slot, in the handler
        wx.media["voice-9"] = (b"#!AMR\n" + bytes(range(100)), "audio/amr")
        queued = await peer.post(peer.voice("oQueued", "voice-9", recognition="我想申请低保"))  # waits in the line
        assert busy.text == queued.text == "success"  # WeChat will not send either again
        assert [h.text for h in held.turns] == ["在吗"]
        if not db.is_sqlite:  # kept before `success`; SQLite's one connection is the held turn's
            assert len(await pending(first)) == 2
        # the crash: the process stops with both turns unfinished. Cancelling their tasks ends
        # them as a dead process would: the open transaction rolls back, nothing is stored.
        for entry in list(adapter._inflight.values()):
            entry.task.cancel()
        await eventually(lambda: not adapter._inflight)
        assert await inbound_texts(first) == []
        assert len(await eventually(lambda: pending(first))) == 2

    handler = EchoHandler()
    second = make_services(db, wx, tmp_path, handler=handler, clock=clock, wechat_aes_key=AES_KEY)
    async with running(second):
        clock.now += PENDING_AGE / 2  # a young entry may still be in a living process's line: left
        await recover_pending_job(second)
        assert handler.turns == [] and len(await pending(second)) == 2

        clock.now += PENDING_AGE
        await recover_pending_job(second)
        assert sorted(t.text for t in handler.turns) == ["在吗", "我想申请低保"]
        assert await inbound_texts(second) == ["在吗", "我想申请低保"]
        [voice] = [t for t in handler.turns if t.attachments]
        assert (voice.attachments[0].kind, voice.attachments[0].platform_id) == ("voice", "voice-9")
        assert (tmp_path / "media" / voice.attachments[0].path).read_bytes() == wx.media["voice-9"][0]
        sent = await eventually(lambda: len(wx.calls_to("message/custom/send")) == 2 and wx.calls_to("message/custom/send"))
        assert sorted(c["body"]["touser"] for c in sent) == ["oBusy", "oQueued"]
        assert await eventually(lambda: _equals(outbox(second), [("oBusy", "收到：在吗", "sent", "custom"),
                                                                 ("oQueued", "收到：我想申请低保", "sent", "custom")]))
        assert await pending(second) == []

        await recover_pending_job(second)  # nothing left: nobody is answered twice
        assert len(handler.turns) == 2 and len(await inbound_texts(second)) == 2
        assert len(wx.calls_to("message/custom/send")) == 2


async def test_a_turn_that_finishes_leaves_nothing_to_recover(db, wx, tmp_path):
    clock = Clock()
    gate = asyncio.Event()
    handler = EchoHandler(gate=gate)
    services = make_services(db, wx, tmp_path, handler=handler, clock=clock)
    async with running(services) as client:
        adapter = client.app.state.wechat
        adapter.passive_seconds = 0.2
        peer = WeChatPeer(client)
        slow = peer.text("oSlow", "房子漏雨")
        assert (await peer.post(slow)).text == "success"
        if not db.is_sqlite:  # (on SQLite the held turn has the one connection)
            [kept] = await pending(services)
            assert kept["inbound"]["sender"] == "oSlow" and kept["inbound"]["text"] == "房子漏雨"
        gate.set()
        await eventually(lambda: wx.calls_to("message/custom/send"))
        assert await eventually(lambda: _equals(pending(services), []))
        # a turn within passive_seconds keeps nothing at all
        adapter.passive_seconds = 30
        assert peer.reply_of(await peer.post(peer.text("oSlow", "谢谢")))["Content"].startswith("收到：谢谢")
        assert await pending(services) == []

        clock.now += PENDING_AGE * 3
        await recover_pending_job(services)
        assert [t.text for t in handler.turns] == ["房子漏雨", "谢谢"]

        # an entry left behind after its turn committed (the process stopped before forgetting
        # it) is forgotten, not handled again
        stored = Inbound("wechat", "oSlow", "房子漏雨", str(slow["MsgId"]))
        await services.channel_store.keep_pending("wechat", stored.message_id, stored.sender,
                                                  _pack(Parsed("dispatch", None, stored), clock.now),
                                                  expires_at=clock.now + timedelta(days=2))
        clock.now += PENDING_AGE * 2
        await recover_pending_job(services)
        assert len(handler.turns) == 2 and await pending(services) == []
        assert await inbound_texts(services) == ["房子漏雨", "谢谢"]
        assert len(wx.calls_to("message/custom/send")) == 1


async def _equals(read, expected):
    return await read == expected


async def test_the_kept_message_of_a_person_who_asked_to_be_erased_is_never_handled(db, wx, tmp_path):
    """erase_person (what "删除我的信息" and the staff's erase page both run) drops the person's
    kept messages: a crash's leftover must not be handled after the erasure."""
    clock = Clock()
    handler = EchoHandler()
    services = make_services(db, wx, tmp_path, handler=handler, clock=clock)
    async with running(services) as client:
        peer = WeChatPeer(client)
        for openid in ("oGone", "oStays"):  # both known: their first messages were stored
            await peer.post(peer.text(openid, "你好"))
        for openid, text in (("oGone", "我家的事"), ("oStays", "房子漏雨")):  # what a crash left
            inbound = Inbound("wechat", openid, text, f"m-{openid}")
            await services.channel_store.keep_pending("wechat", inbound.message_id, openid,
                                                      _pack(Parsed("dispatch", None, inbound), clock.now),
                                                      expires_at=clock.now + timedelta(days=2))
        async with services.db.session() as s:
            person_id = (await s.execute(select(ChannelIdentity.person_id)
                                         .where(ChannelIdentity.external_id == "oGone"))).scalar_one()
            report = await erase_person(s, person_id, clock.now, media_dir=None)
        assert report.pending_dropped == 1
        assert [entry["sender"] for entry in await pending(services)] == ["oStays"]

        clock.now += PENDING_AGE * 2
        await recover_pending_job(services)
        assert [(t.sender, t.text) for t in handler.turns][2:] == [("oStays", "房子漏雨")]
        assert "我家的事" not in await inbound_texts(services)
