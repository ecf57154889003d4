"""Sending on WeChat through the outbox: the access_token kept in the database (refresh
before expiry, refresh once on 40001), the 48-hour customer-service window (held rows, the
optional template message), unreachable followers, and `xiangzhu wechat menu push`. The
WeChat API is the loopback fake in wechat_fake.py (the real one cannot be reached here).
SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

sys.path.insert(0, str(Path(__file__).parent))  # wechat_fake, whether or not tests/channels is a package
from wechat_fake import APPID, SECRET, EchoHandler, FakeWeChatApi, WeChatPeer, eventually, make_services, running  # noqa: E402

from bot.channels.wechat.client import WeChatApiError
from bot.channels.wechat.jobs import refresh_token_job
from bot.channels.wechat.cli import DEFAULT_MENU
from storage import outbox as outbox_store
from storage import wechat_token
from storage.db import Database
from storage.models import ChannelIdentity, OutboxMessage

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))


@pytest.fixture
def fake():
    api = FakeWeChatApi().start()
    yield api
    api.stop()


async def stored_token(services):
    async with services.db.session() as s:
        return await wechat_token.load(s, now=services.clock())


async def enqueue(services, recipient: str, text: str, kind: str = "reminder") -> int:
    async with services.db.session() as s:
        row = await outbox_store.enqueue(s, channel="wechat", recipient=recipient, text=text, kind=kind,
                                         now=services.clock())
        await s.flush()
        row_id = row.id
    services.wake_outbox()
    return row_id


async def row(services, row_id: int) -> OutboxMessage:
    async with services.db.session() as s:
        return await s.get(OutboxMessage, row_id)


async def age_identity(services, openid: str, hours: float) -> None:
    async with services.db.session() as s:
        await s.execute(update(ChannelIdentity).where(ChannelIdentity.external_id == openid)
                        .values(last_inbound_at=services.clock() - timedelta(hours=hours)))


async def test_token_is_fetched_once_stored_and_refreshed_once_on_40001(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        api = client.app.state.wechat.api
        peer = WeChatPeer(client)
        await peer.post(peer.text("oTok", "你好"))  # opens the 48-hour window
        first = await enqueue(services, "oTok", "提醒一")
        await eventually(lambda: len(fake.calls_to("message/custom/send")) == 1)
        token1 = await stored_token(services)
        assert fake.token_fetches == 1 and token1.token in fake.valid_tokens
        assert token1.expires_at - services.clock() > timedelta(hours=1, minutes=50)
        await eventually(lambda: _status(services, first, "sent"))

        fake.revoke_tokens()  # e.g. someone fetched a token elsewhere long ago
        api.tokens._cached = None
        second = await enqueue(services, "oTok", "提醒二")
        await eventually(lambda: len(fake.calls_to("message/custom/send")) == 2)
        assert fake.token_fetches == 2
        token2 = await stored_token(services)
        assert token2.token != token1.token and token2.token in fake.valid_tokens
        assert fake.calls_to("message/custom/send")[-1]["query"]["access_token"] == token2.token
        assert (await eventually(lambda: _status(services, second, "sent"))).delivery == "custom"

        # WeChat keeps refusing: one refresh, one retry, then the error comes out
        fake.refuse_all_tokens = True
        with pytest.raises(WeChatApiError) as err:
            await api.send_text("oTok", "x")
        assert err.value.errcode == 40001 and fake.token_fetches == 3


async def _status(services, row_id, status):
    r = await row(services, row_id)
    return r if r.status == status else None


async def test_leader_job_refreshes_the_token_before_it_expires(db, fake, tmp_path):
    from bot.scheduler import periodic_jobs

    assert {"wechat_token", "wechat_release_reserved", "wechat_recover_pending"} <= {j.id for j in periodic_jobs()}
    services = make_services(db, fake, tmp_path)
    async with running(services):
        await refresh_token_job(services)
        fresh = await stored_token(services)
        assert fake.token_fetches == 1
        await refresh_token_job(services)  # far from expiry: nothing to do
        assert fake.token_fetches == 1 and (await stored_token(services)).token == fresh.token
        async with services.db.session() as s:  # now it expires in 5 minutes
            await wechat_token.store(s, fresh.token, expires_at=services.clock() + timedelta(minutes=5),
                                     now=services.clock())
        await refresh_token_job(services)
        assert fake.token_fetches == 2 and (await stored_token(services)).token != fresh.token


async def test_outside_the_window_the_message_is_held_until_the_person_writes(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path, handler=EchoHandler())
    async with running(services) as client:
        peer = WeChatPeer(client)
        await peer.post(peer.text("oOld", "你好"))
        await age_identity(services, "oOld", hours=49)
        held = await enqueue(services, "oOld", "活动明天开始")
        r = await eventually(lambda: _status(services, held, "held"))
        assert r.delivery == "held" and fake.calls_to("message/custom/send") == []
        later = await enqueue(services, "oOld", "第二条提醒")  # waits behind the held one
        # the person writes again: the held messages go out, in order, after the passive reply
        reply = peer.reply_of(await peer.post(peer.text("oOld", "我回来了")))
        assert reply["Content"].startswith("收到：我回来了")
        sent = await eventually(lambda: len(fake.calls_to("message/custom/send")) == 2 and fake.calls_to("message/custom/send"))
        assert [c["body"]["text"]["content"] for c in sent] == ["活动明天开始", "第二条提醒"]
        assert (await eventually(lambda: _status(services, held, "sent"))).delivery == "custom"
        assert (await eventually(lambda: _status(services, later, "sent"))).delivery == "custom"


async def test_45015_from_wechat_also_holds(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        peer = WeChatPeer(client)
        await peer.post(peer.text("oQuota", "你好"))
        fake.outside_window.add("oQuota")  # our clock says inside; WeChat says the quota is used up
        held = await enqueue(services, "oQuota", "提醒")
        assert (await eventually(lambda: _status(services, held, "held"))).delivery == "held"
        assert len(fake.calls_to("message/custom/send")) == 1  # tried once, refused


async def test_outside_the_window_a_configured_template_is_sent(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path, wechat_template_id="TPL-remind-1")
    async with running(services) as client:
        peer = WeChatPeer(client)
        await peer.post(peer.text("oTpl", "你好"))
        await age_identity(services, "oTpl", hours=72)
        row_id = await enqueue(services, "oTpl", "您报名的活动明天上午九点开始")
        r = await eventually(lambda: _status(services, row_id, "sent"))
        assert r.delivery == "template"
        [call] = fake.calls_to("message/template/send")
        assert call["body"]["touser"] == "oTpl" and call["body"]["template_id"] == "TPL-remind-1"
        assert call["body"]["data"]["content"]["value"] == "您报名的活动明天上午九点开始"
        assert fake.calls_to("message/custom/send") == []


async def test_unsubscribed_followers_are_skipped_and_43004_marks_unreachable(db, fake, tmp_path):
    services = make_services(db, fake, tmp_path)
    async with running(services) as client:
        peer = WeChatPeer(client)
        await peer.post(peer.text("oGone", "你好"))
        await peer.post(peer.event("oGone", "unsubscribe"))
        skipped = await enqueue(services, "oGone", "提醒")
        assert (await eventually(lambda: _status(services, skipped, "failed"))).error.startswith("unreachable")
        assert fake.calls_to("message/custom/send") == []

        await peer.post(peer.text("oBlocked", "你好"))
        fake.unsubscribed.add("oBlocked")  # WeChat knows before we do
        refused = await enqueue(services, "oBlocked", "提醒")
        await eventually(lambda: _status(services, refused, "failed"))
        async with services.db.session() as s:
            identity = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == "oBlocked"))).scalar_one()
        assert identity.unreachable is True
        # writing again makes them reachable again (the dispatcher clears the flag)
        await peer.post(peer.text("oBlocked", "我又关注了"))
        async with services.db.session() as s:
            identity = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == "oBlocked"))).scalar_one()
        assert identity.unreachable is False


def _cli(db_url: str, fake: FakeWeChatApi, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url, "XIANGZHU_WECHAT_APPID": APPID,
           "XIANGZHU_WECHAT_SECRET": SECRET, "XIANGZHU_WECHAT_TOKEN": "t",
           "XIANGZHU_WECHAT_API_BASE_URL": fake.base_url}
    return subprocess.run([XIANGZHU, "wechat", "menu", "push", *args], env=env, capture_output=True,
                          text=True, timeout=60)


async def test_menu_push_cli_against_the_fake(db_url, fake, tmp_path):
    done = _cli(db_url, fake)
    assert done.returncode == 0, done.stderr
    assert "菜单已推送" in done.stdout
    [call] = fake.calls_to("menu/create")
    assert call["body"] == DEFAULT_MENU
    keys = {b.get("key") for top in call["body"]["button"] for b in [top, *top.get("sub_button", [])]}
    assert {"/policy", "/need", "/activities", "/human"} <= keys
    db = Database(db_url)
    try:
        async with db.session() as s:
            from storage.models import utcnow

            assert (await wechat_token.load(s, now=utcnow())).token == call["query"]["access_token"]
    finally:
        await db.dispose()

    bad = tmp_path / "menu.json"
    bad.write_text(json.dumps({"button": [{"type": "click", "name": "这个名字实在太长了", "key": "/x"}] * 4}),
                   encoding="utf-8")
    refused = _cli(db_url, fake, "--file", str(bad))
    assert refused.returncode == 2 and "1 to 3 top-level buttons" in refused.stderr
    assert len(fake.calls_to("menu/create")) == 1
