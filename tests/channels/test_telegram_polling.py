"""Telegram long polling through the real app (create_app + its lifespan: the adapter, our
getUpdates loop on the leader, the dispatcher, the outbox sender), against the FAKE Bot API in
telegram_fake.py: what the npm emulator cannot show — files, offsets across a restart, 429,
dropped connections, a blocked bot. Runs on SQLite and PostgreSQL (the `db` fixture)."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.channels.telegram_fake import EchoHandler, FakeBotApi, eventually, make_services, running

from bot.channels.base import RetryableSendError
from bot.channels.telegram.adapter import TelegramAdapter
from bot.channels.telegram.bot_api import MAX_TEXT, OFFSET_KEY
from vocab.messages import Outbound
from storage import kv, notify
from storage.models import ChannelIdentity, Message, OutboxMessage


@pytest.fixture
def fake():
    api = FakeBotApi().start()
    yield api
    api.stop()


async def inbound_rows(services):
    async with services.db.session() as s:
        return list((await s.execute(select(Message).where(Message.direction == "in").order_by(Message.id))).scalars())


async def outbox_rows(services):
    async with services.db.session() as s:
        return list((await s.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def stored_offset(services):
    async with services.db.session() as s:
        value = await kv.get(s, OFFSET_KEY)
    return value and value["offset"]


async def test_text_is_answered_with_inline_buttons_and_the_offset_is_stored(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services):
        update_id = fake.push_message(1001, "低保怎么申请")
        [sent] = await eventually(lambda: fake.calls_to("sendMessage"))
        assert sent["chat_id"] == "1001"
        assert sent["text"] == "收到：低保怎么申请｜按钮：-｜附件：-"
        assert sent["reply_markup"] == {"inline_keyboard": [[{"text": "是", "callback_data": "yes"}],
                                                            [{"text": "否", "callback_data": "no"}]]}
        assert await eventually(lambda: stored_offset(services)) == update_id + 1
        [msg] = await inbound_rows(services)
        assert (msg.channel, msg.text) == ("telegram", "低保怎么申请")
        assert handler.turns[0].sender == "1001" and handler.turns[0].locale == "zh"
        # every getUpdates after the first asks past what was stored
        assert fake.calls_to("getUpdates")[0].get("offset") is None
        assert fake.calls_to("deleteWebhook"), "polling drops a webhook first"


async def test_a_reply_without_choices_carries_the_main_menu_keyboard_whose_keys_are_payloads(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services) as client:
        adapter: TelegramAdapter = client.app.state.telegram
        await adapter.send(Outbound("telegram", "1002", "提醒：明天上午九点开会。"))
        [sent] = fake.calls_to("sendMessage")
        keyboard = sent["reply_markup"]["keyboard"]
        titles = [key["text"] for row in keyboard for key in row]
        assert "问政策 Policies" in titles and "找社工 Social worker" in titles
        fake.push_message(1002, "找社工 Social worker")
        await eventually(lambda: handler.turns)
        assert handler.turns[0].payload == "/human"


async def test_deep_link_and_button_press_reach_the_flows_as_payloads(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services):
        fake.push_message(1003, "/start act-12")
        await eventually(lambda: len(handler.turns) == 1)
        assert handler.turns[0].payload == "/start act-12"
        _, query_id = fake.push_callback(1003, "yes")
        await eventually(lambda: len(handler.turns) == 2)
        assert handler.turns[1].payload == "yes" and handler.turns[1].sender == "1003"
        answered = await eventually(lambda: fake.calls_to("answerCallbackQuery"))
        assert answered[0]["callback_query_id"] == query_id
        assert [m.channel_message_id for m in await inbound_rows(services)][1] == f"cb:{query_id}"


async def test_photo_voice_document_are_downloaded_into_the_media_store_and_location_kept(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    photo_small, photo_big = b"\xff\xd8small", b"\xff\xd8" + bytes(range(256)) * 40
    voice, doc = b"OggS-voice-bytes", b"%PDF-1.4 certificate"
    small = fake.add_file("ph-s", photo_small, "photos/file_1.jpg")
    big = fake.add_file("ph-b", photo_big, "photos/file_2.jpg")
    fake.add_file("vo-1", voice, "voice/file_3.oga")
    fake.add_file("dc-1", doc, "documents/file_4.pdf")
    async with running(services):
        fake.push_message(1004, None, caption="房子漏雨", photo=[{**small, "width": 90, "height": 90},
                                                                 {**big, "width": 800, "height": 800}])
        fake.push_message(1004, None, voice={"file_id": "vo-1", "file_unique_id": "uvo", "duration": 3,
                                             "mime_type": "audio/ogg", "file_size": len(voice)})
        fake.push_message(1004, None, document={"file_id": "dc-1", "file_unique_id": "udc", "file_name": "低保证明.pdf",
                                                "mime_type": "application/pdf", "file_size": len(doc)})
        fake.push_message(1004, None, location={"latitude": 27.7, "longitude": 111.9})
        await eventually(lambda: len(handler.turns) == 4)
    media = tmp_path / "media"
    photo, vo, dc, loc = (t.attachments[0] for t in handler.turns)
    assert handler.turns[0].text == "房子漏雨"
    assert (photo.kind, photo.platform_id) == ("photo", "ph-b")  # the largest size
    assert (media / photo.path).read_bytes() == photo_big and photo.path.endswith(".jpg")
    assert vo.kind == "voice" and (media / vo.path).read_bytes() == voice and vo.mime == "audio/ogg"
    assert dc.kind == "document" and (media / dc.path).read_bytes() == doc and dc.path.endswith(".pdf")
    assert (loc.kind, loc.platform_id, loc.path) == ("location", "geo:27.7,111.9", "")
    stored = [m.attachments for m in await inbound_rows(services)]
    assert stored[0][0]["path"] == photo.path and stored[3][0]["kind"] == "location"


async def test_offsets_survive_a_restart_and_a_lost_confirmation_is_deduplicated(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    async with running(services):
        fake.push_message(1005, "第一条")
        last = fake.push_message(1006, "第二条")
        await eventually(lambda: len(fake.calls_to("sendMessage")) == 2)
        await eventually(lambda: stored_offset(services))
        # (stopping between a send and its "sent" mark would hold the chat's next message for
        # the outbox lease: at-least-once, but not what this test is about)
        await eventually(lambda: _sent_rows(services))
    assert await stored_offset(services) == last + 1

    # stopped: a new message arrives; the next process asks from the stored offset
    new = fake.push_message(1005, "第三条")
    calls_before = len(fake.calls_to("getUpdates"))
    services2 = make_services(db, fake, tmp_path, handler=handler)
    async with running(services2):
        await eventually(lambda: len(handler.turns) == 3)
        await eventually(lambda: _sent_rows(services2))
        await eventually(lambda: _offset_is(services2, new + 1))
        assert fake.calls_to("getUpdates")[calls_before]["offset"] == str(last + 1)
    assert sorted(t.text for t in handler.turns) == sorted(["第一条", "第二条", "第三条"])

    # a crash after the commit but before the offset was stored and Telegram saw it: both
    # updates come again; they are stored already, so nothing is processed or sent twice
    fake.forget_confirmations([last, new])
    async with services.db.session() as s:
        await kv.put(s, OFFSET_KEY, {"offset": last})
    calls_before = len(fake.calls_to("getUpdates"))
    services3 = make_services(db, fake, tmp_path, handler=handler)
    async with running(services3):
        await eventually(lambda: _offset_is(services3, new + 1))
        first = fake.calls_to("getUpdates")[calls_before]
        assert first["offset"] == str(last)
    assert len(handler.turns) == 3
    assert len(await inbound_rows(services)) == 3
    assert len(fake.calls_to("sendMessage")) == 3


async def _offset_is(services, value):
    return await stored_offset(services) == value


async def test_chats_are_handled_concurrently_and_each_chat_in_order(db, fake, tmp_path):
    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    photo = fake.add_file("slow-photo", b"\xff\xd8slow", "photos/slow.jpg")
    release = fake.hold_file("photos/slow.jpg")  # chat 2001's photo downloads slowly …
    try:
        async with running(services):
            fake.push_message(2001, None, caption="甲1", photo=[{**photo, "width": 9, "height": 9}])
            fake.push_message(2001, "甲2")
            fake.push_message(2002, "乙1")
            # … and chat 2002 is answered meanwhile
            await eventually(lambda: [t.text for t in handler.turns] == ["乙1"])
            release.set()
            await eventually(lambda: len(handler.turns) == 3)
    finally:
        release.set()
    assert [t.text for t in handler.turns] == ["乙1", "甲1", "甲2"]


async def test_long_text_is_split_at_sentence_ends_and_buttons_go_on_the_last_part(db, fake, tmp_path):
    sentence = "根据政策规定，农村低保对象每月可以领取生活补助金，具体标准由县里公布。"
    text = sentence * 300  # about 10,500 characters
    services = make_services(db, fake, tmp_path, handler=EchoHandler(say=text))
    async with running(services):
        fake.push_message(1007, "低保标准是多少")
        assert await eventually(lambda: _sent_rows(services))
    parts = fake.calls_to("sendMessage")
    assert len(parts) == 3
    assert "".join(p["text"] for p in parts) == text
    assert all(len(p["text"]) <= MAX_TEXT and p["text"].endswith("。") for p in parts)
    assert [("reply_markup" in p) for p in parts] == [False, False, True]


async def test_429_is_retried_after_retry_after_and_network_errors_with_back_off(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        adapter: TelegramAdapter = client.app.state.telegram
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)
        with pytest.raises(RetryableSendError) as caught:
            await adapter.send(Outbound("telegram", "1008", "你好"))
        assert caught.value.retry_after == 7
        fake.drop("sendMessage")
        with pytest.raises(RetryableSendError) as caught:
            await adapter.send(Outbound("telegram", "1008", "你好"))
        assert caught.value.retry_after is None

        # through the outbox: a 429 with retry_after 1, then delivered once
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        fake.push_message(1008, "在吗")
        await eventually(lambda: _sent_rows(services))
        [row] = await outbox_rows(services)
        assert row.attempts == 2
    reply = "收到：在吗｜按钮：-｜附件：-"
    tries = [at for method, params, at in fake.calls if method == "sendMessage" and params["text"] == reply]
    assert len(tries) == 2  # the refused attempt and the delivery …
    assert tries[1] - tries[0] >= 0.95  # … not before retry_after said


async def _sent_rows(services):
    rows = await outbox_rows(services)
    return rows and all(r.status == "sent" for r in rows)


async def test_a_blocked_bot_marks_the_identity_unreachable_and_notices_skip_it(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services):
        fake.push_message(1009, "你好")
        await eventually(lambda: fake.calls_to("sendMessage"))
        fake.blocked.add("1009")
        async with services.db.session() as s:
            identity = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == "1009"))).scalar_one()
            person_id = identity.person_id
            await notify.notify_person(s, person_id, "明天开会")
        services.wake_outbox()
        await eventually(lambda: _identity_unreachable(services, "1009"))
        rows = await outbox_rows(services)
        assert rows[-1].status == "failed" and "blocked" in rows[-1].error
        async with services.db.session() as s:
            assert await notify.notify_person(s, person_id, "后天开会") is None  # skipped

        # my_chat_member "kicked" (the user blocked the bot) marks it too, without a send
        fake.push_message(1010, "你好")
        await eventually(lambda: [c for c in fake.calls_to("sendMessage") if c["chat_id"] == "1010"])
        fake.push(my_chat_member={
            "chat": {"id": 1010, "type": "private"}, "from": fake.user(1010), "date": 1700000000,
            "old_chat_member": {"status": "member", "user": {"id": 4242, "is_bot": True, "first_name": "乡助"}},
            "new_chat_member": {"status": "kicked", "until_date": 0,
                                "user": {"id": 4242, "is_bot": True, "first_name": "乡助"}},
        })
        await eventually(lambda: _identity_unreachable(services, "1010"))


async def _identity_unreachable(services, external_id):
    async with services.db.session() as s:
        identity = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == external_id))
                    ).scalar_one_or_none()
        return identity is not None and identity.unreachable


async def test_group_chats_get_at_most_20_messages_a_minute(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        adapter: TelegramAdapter = client.app.state.telegram
        for n in range(20):
            await adapter.send(Outbound("telegram", "-100555", f"通知 {n}"))
        with pytest.raises(RetryableSendError) as caught:
            await adapter.send(Outbound("telegram", "-100555", "第二十一条"))
        assert 0 < caught.value.retry_after <= 60
        await adapter.send(Outbound("telegram", "1011", "私聊不受群组限制"))
    assert len([c for c in fake.calls_to("sendMessage") if c["chat_id"] == "-100555"]) == 20


async def test_only_the_leader_polls(db, fake, tmp_path):
    from bot.app import create_app

    handler = EchoHandler()
    services = make_services(db, fake, tmp_path, handler=handler)
    leader = {"status": "other:host:1:abc"}
    app = create_app(services=services)
    services.leader_status = lambda: leader["status"]  # as if another process led
    fake.push_message(1012, "有人吗")
    async with app.router.lifespan_context(app):
        poller = app.state.telegram.poller
        poller.follower_wait = 0.02
        await eventually(lambda: poller.rounds >= 10)
        assert fake.calls_to("getUpdates") == [] and handler.turns == []
        leader["status"] = "self"  # it takes over
        await eventually(lambda: [t.text for t in handler.turns] == ["有人吗"])


async def test_relayed_photo_voice_and_document_are_sent_as_files(db, fake, tmp_path):
    from bot.media import MediaStore
    from vocab.messages import Attachment

    services = make_services(db, fake, tmp_path)
    store = MediaStore(tmp_path / "media")
    photo = store.save(b"\xff\xd8photo", mime="image/jpeg")
    voice = store.save(b"OggS voice", mime="audio/ogg")
    amr = store.save(b"#!AMR wechat voice", mime="audio/amr")
    async with running(services) as client:
        adapter: TelegramAdapter = client.app.state.telegram
        await adapter.send(Outbound("telegram", "1013", "【李大爷】房子漏雨", attachments=(
            Attachment("photo", photo, "image/jpeg"), Attachment("voice", voice, "audio/ogg"),
            Attachment("voice", amr, "audio/amr"), Attachment("location", platform_id="geo:27.7,111.9"))))
    assert fake.calls_to("sendMessage")[0]["text"] == "【李大爷】房子漏雨"
    assert fake.calls_to("sendPhoto")[0]["photo"]["size"] == len(b"\xff\xd8photo")
    assert fake.calls_to("sendVoice")[0]["voice"]["size"] == len(b"OggS voice")
    assert fake.calls_to("sendDocument")[0]["document"]["filename"].endswith(".amr")  # not playable as voice
    assert (fake.calls_to("sendLocation")[0]["latitude"], fake.calls_to("sendLocation")[0]["longitude"]) == ("27.7", "111.9")


async def test_a_retried_long_message_does_not_repeat_the_parts_already_sent(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    text = "这是一句关于补助标准的说明。" * 800  # three parts
    async with running(services) as client:
        adapter: TelegramAdapter = client.app.state.telegram
        fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, after=1)
        with pytest.raises(RetryableSendError):
            await adapter.send(Outbound("telegram", "1014", text))
        await adapter.send(Outbound("telegram", "1014", text))
    calls = fake.calls_to("sendMessage")
    assert len(calls) == 4  # part 1, part 2 refused, part 2, part 3
    assert calls[1]["text"] == calls[2]["text"]
    assert calls[0]["text"] + calls[2]["text"] + calls[3]["text"] == text
