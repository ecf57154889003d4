"""The WeChat webhook through the real ASGI app: callbacks built, signed and encrypted with
wechatpy's crypto as WeChat sends them (tests/channels/wechat_fake.WeChatPeer); outbound API
calls go to the loopback fake of the WeChat API (the real one cannot be reached from here).
Runs on SQLite and PostgreSQL (the `db` fixture)."""
from __future__ import annotations

import sys
from pathlib import Path

import asyncio

import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))  # wechat_fake, whether or not tests/channels is a package
from wechat_fake import AES_KEY, EchoHandler, FakeWeChatApi, WeChatPeer, eventually, make_services, running  # noqa: E402

from storage.models import ChannelIdentity, Message, OutboxMessage


@pytest.fixture
def fake():
    api = FakeWeChatApi().start()
    yield api
    api.stop()


async def outbox_rows(services, channel="wechat"):
    async with services.db.session() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.channel == channel)
                                     .order_by(OutboxMessage.id))).scalars())


async def inbound_count(services):
    async with services.db.session() as s:
        return len(list((await s.execute(select(Message).where(Message.direction == "in"))).scalars()))


async def test_url_verification_echoes_only_with_the_right_signature(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        peer = WeChatPeer(client)
        params = {"signature": peer.signature("1700000000", "abc"), "timestamp": "1700000000",
                  "nonce": "abc", "echostr": "echo-4711"}
        ok = await client.get("/webhooks/wechat", params=params)
        assert ok.status_code == 200 and ok.text == "echo-4711"
        bad = await client.get("/webhooks/wechat", params={**params, "signature": "0" * 40})
        assert bad.status_code == 403 and "echo-4711" not in bad.text


@pytest.mark.parametrize("mode", ["plain", "compat", "safe"])
async def test_text_gets_a_passive_reply_with_numbered_choices(db, fake, tmp_path, mode):
    aes = {} if mode == "plain" else {"wechat_aes_key": AES_KEY}
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler, **aes)
    async with running(services) as client:
        peer = WeChatPeer(client, mode=mode)
        resp = await peer.post(peer.text("oUser1", "你好"))
        reply = peer.reply_of(resp)
        if mode != "plain":
            assert "<Encrypt>" in resp.text and "收到" not in resp.text
        assert reply["MsgType"] == "text" and reply["ToUserName"] == "oUser1" and reply["FromUserName"] == "gh_0123456789ab"
        assert reply["Content"].startswith("收到：你好")
        assert "回复数字：" in reply["Content"] and "1. 是" in reply["Content"] and "2. 否" in reply["Content"]
        [row] = await outbox_rows(services)
        assert (row.status, row.delivery) == ("sent", "passive")
        # a bare number answers the choices
        reply2 = peer.reply_of(await peer.post(peer.text("oUser1", "2")))
        assert "按钮：no" in reply2["Content"]
        await asyncio.sleep(0)  # let the outbox sender run once; it must have nothing to send
        assert fake.calls_to("message/custom/send") == []


async def test_a_buttons_payload_typed_as_text_reaches_the_flows_as_that_button(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        peer = WeChatPeer(client)
        for text in ("choice:agree", "/menu"):
            reply = peer.reply_of(await peer.post(peer.text("oUser9", text)))
            assert f"按钮：{text}" in reply["Content"]


async def test_more_replies_than_one_first_passive_rest_customer_service(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path, handler=EchoHandler(replies=3))
    async with running(services) as client:
        peer = WeChatPeer(client)
        reply = peer.reply_of(await peer.post(peer.text("oUser2", "在吗")))
        assert reply["Content"].startswith("收到：在吗")
        sent = await eventually(lambda: len(fake.calls_to("message/custom/send")) == 2 and fake.calls_to("message/custom/send"))
        assert [c["body"]["text"]["content"] for c in sent] == ["第2条", "第3条"]
        assert all(c["body"]["touser"] == "oUser2" for c in sent)
        rows = await eventually(lambda: _all_sent(services))
        assert [r.delivery for r in rows] == ["passive", "custom", "custom"]


async def _all_sent(services):
    rows = await outbox_rows(services)
    return rows if rows and all(r.status == "sent" for r in rows) else None


async def test_three_deliveries_while_slow_one_processing_one_reply(db, fake, tmp_path):
    gate = asyncio.Event()
    handler = EchoHandler(gate=gate)
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        adapter = client.app.state.wechat
        adapter.passive_seconds = 0.3
        peer = WeChatPeer(client)
        fields = peer.text("oUser3", "我家房子漏雨")
        first = await peer.post(fields)  # WeChat gives up waiting …
        second = await peer.post(fields)  # … and retries
        assert first.text == "success" and second.text == "success"
        adapter.passive_seconds = 30  # the last retry will still be waiting when the answer is ready
        third = asyncio.create_task(peer.post(fields))
        await eventually(lambda: any(e.waiters for e in adapter._inflight.values()))
        gate.set()
        reply = peer.reply_of(await third)
        assert reply["Content"].startswith("收到：我家房子漏雨")
        assert len(handler.turns) == 1
        assert await inbound_count(services) == 1
        rows = await outbox_rows(services)
        assert [(r.status, r.delivery) for r in rows] == [("sent", "passive")]
        assert fake.calls_to("message/custom/send") == []


async def test_slow_handling_answers_success_then_one_customer_service_message(db, fake, tmp_path):
    gate = asyncio.Event()
    handler = EchoHandler(gate=gate)
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        client.app.state.wechat.passive_seconds = 0.2
        peer = WeChatPeer(client)
        fields = peer.text("oUser4", "低保怎么申请")
        resp = await peer.post(fields)
        assert resp.status_code == 200 and resp.text == "success"
        assert fake.calls_to("message/custom/send") == []
        gate.set()
        [call] = await eventually(lambda: fake.calls_to("message/custom/send"))
        assert call["body"]["touser"] == "oUser4" and call["body"]["msgtype"] == "text"
        assert call["body"]["text"]["content"].startswith("收到：低保怎么申请")
        assert "回复数字：" in call["body"]["text"]["content"]
        rows = await eventually(lambda: _all_sent(services))
        assert [r.delivery for r in rows] == ["custom"]
        # a late retry finds the answer delivered: no second reply
        late = await peer.post(fields)
        assert late.text == "success" and len(handler.turns) == 1
        assert len(fake.calls_to("message/custom/send")) == 1


async def test_voice_uses_recognition_and_keeps_the_downloaded_audio(db, fake, tmp_path):
    fake.media["voice-media-1"] = (b"#!AMR\n" + bytes(range(200)), "audio/amr")
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        peer = WeChatPeer(client)
        reply = peer.reply_of(await peer.post(peer.voice("oUser5", "voice-media-1", recognition="我想问医保报销")))
        assert reply["Content"].startswith("收到：我想问医保报销｜按钮：-｜附件：voice")
        [att] = handler.turns[0].attachments
        assert (att.kind, att.platform_id, att.text, att.mime) == ("voice", "voice-media-1", "我想问医保报销", "audio/amr")
        assert att.path.endswith(".amr")
        assert (tmp_path / "media" / att.path).read_bytes() == fake.media["voice-media-1"][0]
        async with services.db.session() as s:
            stored = (await s.execute(select(Message).where(Message.direction == "in"))).scalar_one()
        assert stored.attachments[0]["path"] == att.path


async def test_image_is_downloaded_into_the_media_store(db, fake, tmp_path):
    jpeg = b"\xff\xd8\xff\xe0" + b"photo-bytes" * 50
    fake.media["img-7"] = (jpeg, "image/jpeg")
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        peer = WeChatPeer(client)
        await peer.post(peer.image("oUser6", "img-7"))
        [att] = handler.turns[0].attachments
        assert att.kind == "photo" and att.platform_id == "img-7" and att.path.endswith(".jpg")
        assert (tmp_path / "media" / att.path).read_bytes() == jpeg
        # media the API no longer has (expired): the message still goes through, with the id
        await peer.post(peer.image("oUser6", "expired-media"))
        [att2] = handler.turns[1].attachments
        assert att2.path == "" and att2.platform_id == "expired-media"
        with pytest.raises(ValueError):  # the media store hands out nothing outside its folder
            services.channels.get("wechat").media.resolve("../../etc/passwd")


async def test_location_becomes_a_location_attachment_with_its_label(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        peer = WeChatPeer(client)
        await peer.post(peer.location("oUser7", 27.35, 109.18, "湖南省怀化市会同县坪村镇"))
        [att] = handler.turns[0].attachments
        assert att.kind == "location" and att.text == "湖南省怀化市会同县坪村镇"
        assert att.platform_id == "geo:27.35,109.18"


async def test_events_subscribe_click_view_unsubscribe(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        peer = WeChatPeer(client)
        welcome = peer.reply_of(await peer.post(peer.event("oUser8", "subscribe")))
        assert "按钮：/start" in welcome["Content"] and handler.turns[-1].payload == "/start"
        clicked = peer.reply_of(await peer.post(peer.event("oUser8", "CLICK", "/policy")))
        assert "按钮：/policy" in clicked["Content"]
        # a repeated event (same sender and CreateTime) is one event
        repeat = peer.event("oUser8", "CLICK", "/need")
        await peer.post(repeat)
        await peer.post(repeat)
        assert [t.payload for t in handler.turns] == ["/start", "/policy", "/need"]
        view = await peer.post(peer.event("oUser8", "VIEW", "https://example.org/policy"))
        assert view.text == "success" and len(handler.turns) == 3
        # WeChat has no deep links: a worker's invite code sent as text becomes the same payload
        await peer.post(peer.text("oUser8", "w-K7Q2M9XP"))
        assert handler.turns[-1].payload == "/start w-K7Q2M9XP"
        turns = len(handler.turns)
        gone = await peer.post(peer.event("oUser8", "unsubscribe"))
        assert gone.text == "success" and len(handler.turns) == turns
        async with services.db.session() as s:
            identity = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == "oUser8"))).scalar_one()
        assert identity.unreachable is True


async def test_replies_left_reserved_by_a_stopped_process_are_sent_by_the_leader_job(db, fake, tmp_path):
    """A process that died between the dispatcher's commit and the passive answer leaves rows
    reserved (`sent`/`response`); the leader's job hands them to the outbox after the lease."""
    from datetime import timedelta

    from bot.channels.wechat.adapter import RESERVE_LEASE
    from bot.channels.wechat.jobs import release_reserved_job
    from storage import outbox as outbox_store

    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        peer = WeChatPeer(client)
        await peer.post(peer.text("oCrash", "你好"))  # opens the window
        async with services.db.session() as s:
            for age, text in ((RESERVE_LEASE * 2, "旧的"), (timedelta(0), "新的")):
                await outbox_store.enqueue(s, channel="wechat", recipient="oCrash", text=text, status="sent",
                                           delivery="response", now=services.clock() - age)
        await release_reserved_job(services)
        [call] = await eventually(lambda: fake.calls_to("message/custom/send"))
        assert call["body"]["text"]["content"] == "旧的"
        async def settled():
            rows = await outbox_rows(services)
            return [(r.text, r.status, r.delivery) for r in rows[1:]]

        assert await eventually(lambda: _equals(settled, [("旧的", "sent", "custom"), ("新的", "sent", "response")]))


async def _equals(fn, expected):
    return await fn() == expected
