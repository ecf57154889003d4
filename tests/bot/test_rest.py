"""The REST channel's contract (DESIGN.md), through the ASGI app, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import shutil

import httpx
import pytest
from fastapi import FastAPI, Request
from sqlalchemy import func, select

from bot.channels.rest import RestAdapter
from bot.config import load_settings
from bot.services import Services
from tests.standin import StandinHandler, StandinNLU
from storage import outbox as outbox_store
from storage.db import Database
from storage.models import Message, OutboxMessage, Person
from tests.bot.pipeline_helpers import eventually, make_services, running

WEBHOOK = "/webhooks/rest/webhook"
OUTBOX = "/webhooks/rest/outbox"


async def test_webhook_answers_in_rasa_shape_with_buttons(services):
    async with running(services) as client:
        resp = await client.post(WEBHOOK, json={"sender": "u1", "message": "你好", "metadata": {"message_id": "m1"}})
    assert resp.status_code == 200
    replies = resp.json()
    assert len(replies) == 1
    assert replies[0]["recipient_id"] == "u1"
    assert replies[0]["text"]
    buttons = replies[0]["buttons"]
    assert len(buttons) >= 2 and all(set(b) == {"title", "payload"} for b in buttons)
    async with services.db.session() as s:
        msgs = (await s.execute(select(Message).order_by(Message.id))).scalars().all()
        rows = (await s.execute(select(OutboxMessage))).scalars().all()
    assert [(m.direction, m.channel_message_id) for m in msgs] == [("in", "m1"), ("out", None)]
    assert [(r.status, r.delivery, r.recipient) for r in rows] == [("sent", "response", "u1")]


async def test_repeated_message_id_returns_stored_replies_without_processing_again(services):
    async with running(services) as client:
        body = {"sender": "u2", "message": "帮助", "metadata": {"message_id": "same"}}
        first = await client.post(WEBHOOK, json=body)
        second = await client.post(WEBHOOK, json={**body, "message": "something else"})
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    async with services.db.session() as s:
        n_in = (await s.execute(select(func.count()).select_from(Message).where(Message.direction == "in"))).scalar()
        n_out = (await s.execute(select(func.count()).select_from(OutboxMessage))).scalar()
    assert (n_in, n_out) == (1, 1)
    assert services.metrics.duplicates == 1


async def test_without_message_id_each_post_is_a_new_message(services):
    async with running(services) as client:
        for _ in range(2):
            resp = await client.post(WEBHOOK, json={"sender": "u3", "message": "你好"})
            assert resp.status_code == 200 and resp.json()
    async with services.db.session() as s:
        ids = (await s.execute(select(Message.channel_message_id).where(Message.direction == "in"))).scalars().all()
    assert len(set(ids)) == 2 and all(ids)


async def test_payload_message_is_a_button_press(services):
    async with running(services) as client:
        menu = (await client.post(WEBHOOK, json={"sender": "u4", "message": "你好"})).json()
        payload = menu[0]["buttons"][0]["payload"]
        picked = (await client.post(WEBHOOK, json={"sender": "u4", "message": payload})).json()
        by_number = (await client.post(WEBHOOK, json={"sender": "u4", "message": "1"})).json()
    # the stand-in answers a menu payload differently from text it does not understand
    assert picked[0]["text"] != menu[0]["text"]
    assert by_number[0]["text"] == picked[0]["text"]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[1, 2]", b'{"message": "hi"}', b'{"sender": "u"}', b'{"sender": "u", "message": 5}',
     b'{"sender": "", "message": "hi"}', b'{"sender": "u", "message": "hi", "metadata": {"message_id": ""}}'],
)
async def test_bad_bodies_get_400_with_json_error(services, body):
    async with running(services) as client:
        resp = await client.post(WEBHOOK, content=body, headers={"content-type": "application/json"})
    assert resp.status_code == 400
    assert isinstance(resp.json()["error"], str) and resp.json()["error"]


async def test_token_required_on_both_endpoints_when_configured(db):
    services = make_services(db, settings_overrides={"rest_token": "s3cret"})
    async with running(services) as client:
        body = {"sender": "u5", "message": "你好"}
        assert (await client.post(WEBHOOK, json=body)).status_code == 401
        assert (await client.post(WEBHOOK, json=body, headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await client.get(OUTBOX, params={"sender": "u5"})).status_code == 401
        auth = {"Authorization": "Bearer s3cret"}
        assert (await client.post(WEBHOOK, json=body, headers=auth)).status_code == 200
        assert (await client.get(OUTBOX, params={"sender": "u5"}, headers=auth)).status_code == 200


async def _later_message(services, sender, text):
    """A worker's reply or a reminder: an outbox row written by another part of the system."""
    async with services.db.session() as s:
        row = await outbox_store.enqueue(s, channel="rest", recipient=sender, text=text, kind="relay",
                                         buttons=[{"title": "好", "payload": "/ok"}])
        await s.flush()
        return row.id


async def test_outbox_cursor_delivers_later_messages_and_loses_nothing(services):
    async with running(services) as client:
        await client.post(WEBHOOK, json={"sender": "u6", "message": "你好"})
        first = await _later_message(services, "u6", "社工：明天上午来看您。")
        second = await _later_message(services, "u6", "提醒：周六上午巧娘班。")
        await _later_message(services, "someone-else", "not for u6")

        page = (await client.get(OUTBOX, params={"sender": "u6"})).json()
        assert [m["text"] for m in page["messages"]] == ["社工：明天上午来看您。", "提醒：周六上午巧娘班。"]
        assert page["messages"][0]["buttons"] == [{"title": "好", "payload": "/ok"}]
        assert page["cursor"] == str(second)
        # the response was "lost": asking again with the old cursor gives the same messages
        again = (await client.get(OUTBOX, params={"sender": "u6", "after": "0"})).json()
        assert again == page
        # asking past the cursor confirms delivery; nothing new
        after = (await client.get(OUTBOX, params={"sender": "u6", "after": page["cursor"]})).json()
        assert after == {"messages": [], "cursor": page["cursor"]}
    async with services.db.session() as s:
        statuses = dict((await s.execute(select(OutboxMessage.id, OutboxMessage.status)
                                         .where(OutboxMessage.id.in_([first, second])))).all())
    assert statuses == {first: "sent", second: "sent"}


async def test_outbox_rejects_bad_cursor_and_missing_sender(services):
    async with running(services) as client:
        assert (await client.get(OUTBOX)).status_code == 400
        assert (await client.get(OUTBOX, params={"sender": "u", "after": "abc"})).status_code == 400
        assert (await client.get(OUTBOX, params={"sender": "u", "after": "-1"})).status_code == 400


async def test_callback_url_receives_later_messages(db):
    """The callback peer is a small ASGI app reached through httpx's ASGI transport (no network)."""
    received = []
    peer = FastAPI()

    @peer.post("/hook")
    async def hook(request: Request):
        received.append((request.headers.get("authorization"), await request.json()))
        return {"ok": True}

    services = make_services(db, settings_overrides={"rest_callback_url": "http://peer/hook", "rest_token": "t"})
    async with running(services, headers={"Authorization": "Bearer t"}) as client:
        adapter = services.channels.get("rest")
        assert adapter.pushes
        adapter._transport = httpx.ASGITransport(app=peer)
        await adapter.stop()
        await adapter.start()
        reply = await client.post(WEBHOOK, json={"sender": "u7", "message": "你好"})
        assert reply.status_code == 200
        await _later_message(services, "u7", "社工回复")
        services.wake_outbox()
        await eventually(lambda: len(received) == 1)

        async def statuses():
            async with services.db.session() as s:
                return (await s.execute(select(OutboxMessage.kind, OutboxMessage.status).order_by(OutboxMessage.id))).all()

        # the sender marks the row sent after the peer answered: wait for that commit
        await eventually(lambda: _all_sent(statuses()))
    assert received == [("Bearer t", {"recipient_id": "u7", "text": "社工回复", "buttons": [{"title": "好", "payload": "/ok"}]})]
    # the reply that went out in the HTTP response is not sent again to the callback
    assert await statuses() == [("reply", "sent"), ("relay", "sent")]


async def _all_sent(rows_awaitable) -> bool:
    return all(status != "sending" and status != "pending" for _, status in await rows_awaitable)


async def test_database_unavailable_gives_503_json(tmp_path):
    """A PostgreSQL URL where nothing listens: every request needs the database."""
    dead = Database("postgresql+asyncpg://postgres@127.0.0.1:1/none")
    settings = load_settings(database_url=dead.url)
    services = Services(settings, dead, nlu=StandinNLU(), handler=StandinHandler(), emergency_detector=None)
    async with running(services) as client:
        resp = await client.post(WEBHOOK, json={"sender": "u8", "message": "你好"})
        assert resp.status_code == 503
        assert "error" in resp.json()
        assert (await client.get(OUTBOX, params={"sender": "u8"})).status_code == 503
        assert (await client.get("/healthz")).status_code == 503
    await dead.dispose()


async def test_first_contact_creates_one_person_per_sender(services):
    async with running(services) as client:
        for sender in ("a", "b", "a"):
            await client.post(WEBHOOK, json={"sender": sender, "message": "你好"})
    async with services.db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Person))).scalar() == 2


async def test_the_fastapi_route_answers_like_the_fast_path(tmp_path, migrated_sqlite):
    """The webhook is served by rest.fast_webhook; the FastAPI route (for mounting the app
    inside another, and for the OpenAPI document) gives the same answers."""
    import httpx
    from bot.app import create_app
    from bot.config import load_settings

    shutil.copyfile(migrated_sqlite, tmp_path / "x.db")  # a database at the newest schema
    url = f"sqlite+aiosqlite:///{tmp_path}/x.db"
    app = create_app(load_settings(database_url=url, data_dir=tmp_path), extensions=[])
    answers = {}
    async with app.router.lifespan_context(app):
        for name, routes in (("fast", dict(app.fast_routes)), ("fastapi", {})):
            app.fast_routes = routes
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                bad = await client.post(WEBHOOK, content=b"[1, 2]")
                ok = await client.post(WEBHOOK, json={"sender": f"s-{name}", "message": "你好"})
            answers[name] = (bad.status_code, bad.json(), ok.status_code,
                             [(r["text"], r.get("buttons")) for r in ok.json()])
    assert answers["fast"] == answers["fastapi"]
    assert answers["fast"][0] == 400 and answers["fast"][2] == 200 and answers["fast"][3]


async def _real_app(tmp_path, migrated_sqlite):
    """The application as `xiangzhu run` builds it: the real NLU, flow runtime and built-in flows,
    on a copy of the session's migrated database."""
    from bot.app import create_app

    shutil.copyfile(migrated_sqlite, tmp_path / "real.db")
    url = f"sqlite+aiosqlite:///{tmp_path}/real.db"
    return create_app(load_settings(database_url=url, data_dir=tmp_path), extensions=[])


async def test_a_pressed_buttons_payload_sent_as_the_text_is_that_button(tmp_path, migrated_sqlite):
    """Rasa clients send a pressed button's payload back as the message: `choice:` answers
    (the consent's too), menu payloads, and a stale `choice:` gets a re-ask, never silence."""
    app = await _real_app(tmp_path, migrated_sqlite)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            async def say(message):
                resp = await client.post(WEBHOOK, json={"sender": "echo", "message": message})
                assert resp.status_code == 200
                return resp.json()

            welcome = await say("你好")
            assert {b["payload"] for b in welcome[-1]["buttons"]} == {"choice:zh", "choice:en"}
            consent = await say("choice:en")
            assert "Do you agree" in consent[-1]["text"]
            assert "choice:agree" in [b["payload"] for b in consent[-1]["buttons"]]
            stale = await say("choice:zh")  # the language question's button, pressed again
            assert stale and "Please reply 1 (agree) or 2 (do not agree)" in stale[-1]["text"]
            agreed = await say("choice:agree")
            assert "Thank you" in agreed[0]["text"]
            menu_payloads = [b["payload"] for b in agreed[-1]["buttons"]]
            assert "/activities" in menu_payloads
            activities = await say("/activities")
            assert "Which activities" in activities[-1]["text"]
            late = await say("choice:agree")  # a button of an earlier question
            assert late and late[-1]["text"]
        async with app.state.services.db.session() as s:
            person = (await s.execute(select(Person))).scalar_one()
        assert person.consent_given and person.locale == "en"


async def test_a_body_over_64_kb_gets_413_on_both_routes(tmp_path, migrated_sqlite):
    from bot.channels.rest import MAX_BODY

    app = await _real_app(tmp_path, migrated_sqlite)
    big = {"sender": "big", "message": "字" * (65 * 1024 // 3 + 10)}
    async with app.router.lifespan_context(app):
        for routes in (dict(app.fast_routes), {}):  # rest.fast_webhook, then the FastAPI route
            app.fast_routes = routes
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                declared = await client.post(WEBHOOK, json=big)
                assert int(declared.request.headers["content-length"]) > MAX_BODY
                assert declared.status_code == 413 and declared.json()["error"]

                async def chunks():  # no Content-Length: counted while it streams in
                    data = json.dumps(big).encode()
                    for i in range(0, len(data), 8192):
                        yield data[i:i + 8192]

                streamed = await client.post(WEBHOOK, content=chunks())
                assert "content-length" not in streamed.request.headers
                assert streamed.status_code == 413
                ok = await client.post(WEBHOOK, json={"sender": "small", "message": "你好" * 100})
                assert ok.status_code == 200 and ok.json()
        async with app.state.services.db.session() as s:
            texts = (await s.execute(select(Message.text).where(Message.direction == "in"))).scalars().all()
        assert len(texts) == 2 and all(len(t) < 1000 for t in texts)  # the refused bodies were never handled
