"""Telegram webhook mode through the real ASGI app: updates POSTed to /webhooks/telegram as
Telegram posts them (JSON, the secret in X-Telegram-Bot-Api-Secret-Token); replies go out through
the outbox to the FAKE Bot API in telegram_fake.py (it records setWebhook and sendMessage).
Runs on SQLite and PostgreSQL. (The worker invite deep link `/start w-CODE` is a flow:
tests/mission/test_worker_link.py and the emulator test.)"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.channels.telegram.bot_api import SECRET_HEADER
from storage.models import Message
from tests.channels.telegram_fake import EchoHandler, FakeBotApi, eventually, make_services, running

SECRET = "s3cret-Token_for_tests"
HOOK = "https://bot.example.org/webhooks/telegram"


@pytest.fixture
def fake():
    api = FakeBotApi().start()
    yield api
    api.stop()


def webhook_services(db, fake, tmp_path, **kw):
    return make_services(db, fake, tmp_path, telegram_webhook_url=HOOK, telegram_secret=SECRET, **kw)


async def inbound_rows(services):
    async with services.db.session() as s:
        return list((await s.execute(select(Message).where(Message.direction == "in"))).scalars())


async def test_webhook_is_registered_with_the_secret_and_no_polling_happens(db, fake, tmp_path):
    services = webhook_services(db, fake, tmp_path)
    async with running(services):
        [registered] = await eventually(lambda: fake.calls_to("setWebhook"))
    assert registered["url"] == HOOK and registered["secret_token"] == SECRET
    assert set(registered["allowed_updates"]) >= {"message", "callback_query", "my_chat_member"}
    assert fake.calls_to("getUpdates") == []


async def test_wrong_or_missing_secret_is_refused_with_403_and_nothing_is_stored(db, fake, tmp_path):
    handler = EchoHandler()
    services = webhook_services(db, fake, tmp_path, handler=handler)
    update = {"update_id": 1, "message": fake.message(3001, "你好")}
    async with running(services) as client:
        missing = await client.post("/webhooks/telegram", json=update)
        wrong = await client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: SECRET + "x"})
        assert (missing.status_code, wrong.status_code) == (403, 403)
        assert handler.turns == [] and await inbound_rows(services) == []
        ok = await client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: SECRET})
        assert ok.status_code == 200
        [sent] = await eventually(lambda: fake.calls_to("sendMessage"))
        assert sent["chat_id"] == "3001" and sent["text"].startswith("收到：你好")


async def test_a_redelivered_update_is_processed_once(db, fake, tmp_path):
    handler = EchoHandler()
    services = webhook_services(db, fake, tmp_path, handler=handler)
    update = {"update_id": 77, "message": fake.message(3002, "房子漏雨了")}
    async with running(services) as client:
        for _ in range(3):
            resp = await client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: SECRET})
            assert resp.status_code == 200
        await eventually(lambda: fake.calls_to("sendMessage"))
    # another process (no memory of update 77) gets it once more: the stored message wins
    services2 = webhook_services(db, fake, tmp_path, handler=handler)
    async with running(services2) as client:
        resp = await client.post("/webhooks/telegram", json=update, headers={SECRET_HEADER: SECRET})
        assert resp.status_code == 200
    assert len(handler.turns) == 1
    assert len(await inbound_rows(services)) == 1
    assert len(fake.calls_to("sendMessage")) == 1


async def test_webhook_mode_without_a_secret_refuses_to_start(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path, telegram_webhook_url=HOOK, telegram_secret="")
    with pytest.raises(ValueError, match="XIANGZHU_TELEGRAM_SECRET"):
        create_app(services=services)


async def test_malformed_update_is_a_400(db, fake, tmp_path):
    services = webhook_services(db, fake, tmp_path)
    async with running(services) as client:
        resp = await client.post("/webhooks/telegram", content=b"{not json", headers={SECRET_HEADER: SECRET})
        assert resp.status_code == 400


