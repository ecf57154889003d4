"""The web inbox through the real ASGI app, as a browser fills its forms (CSRF token from the
page), on SQLite and PostgreSQL — the world of tests/api/conftest.py: w1 covers village v1
(villager p1, a waiting handoff), w3 covers v3 (p3), sup the township of v1 and v2.

Checked in the database and the outbox: claim, reply (the villager's messenger gets it),
a saved answer filled in, private notes, transfer, close; area rules (404), CSRF, the
supervisor's view, attachments, escaping of what a villager wrote."""
from __future__ import annotations

import html
import re
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
from markupsafe import escape
import pytest
from sqlalchemy import select

from bot.authz import SESSION_COOKIE
from bot.media import MediaStore
from storage import routing, staff_access
from storage.models import (
    AuditEntry,
    Handoff,
    HandoffNote,
    Message,
    NeedRequest,
    OutboxMessage,
    Person,
    SavedAnswer,
    Staff,
)
from tests.api.helpers import sign_in

SCRIPT_NAME = "<script>alert('x')</script>王<b>"


def csrf_of(page: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


@asynccontextmanager
async def signed_in(world, username: str):
    """A browser-like client with a web session of `username` (w1 signs in with the form;
    the others get a session row directly — argon2 is slow on purpose)."""
    async with world.client() as c:
        if username == "w1":
            r = await sign_in(c, "w1")
            assert r.status_code == 303
        else:
            async with world.db.session() as s:
                staff = (await s.execute(select(Staff).where(Staff.username == username))).scalar_one()
                new = await staff_access.create_session(s, staff, now=world.clock())
            c.cookies.set(SESSION_COOKIE, new.cookie)
        yield c


async def post_form(c: httpx.AsyncClient, page_url: str, action: str, **fields) -> httpx.Response:
    page = await c.get(page_url)
    assert page.status_code == 200, page.text[:300]
    return await c.post(action, data={"csrf_token": csrf_of(page.text), **fields})


async def audit_actions(world, handoff_id: int) -> list[str]:
    async with world.db.session() as s:
        rows = (await s.execute(select(AuditEntry).where(AuditEntry.target == f"handoff:{handoff_id}")
                                .order_by(AuditEntry.id))).scalars()
        return [r.action for r in rows]


async def test_claim_reply_saved_answer_note_close_through_the_forms(world):
    hid = world.ids["handoff_p1"]
    page_url = f"/handoffs/{hid}"
    async with signed_in(world, "w1") as c:
        home = (await c.get("/")).text
        assert f'href="/handoffs/{hid}"' in home and f'href="/handoffs/{world.ids["handoff_p3"]}"' not in home
        queue = (await c.get("/queue")).text
        assert f'data-id="{hid}"' in queue and f'data-id="{world.ids["handoff_p3"]}"' not in queue

        r = await post_form(c, page_url, f"{page_url}/claim")
        assert r.status_code == 303 and r.headers["location"] == f"{page_url}?done=claim"
        page = (await c.get(r.headers["location"])).text
        assert 'id="reply-form"' in page and "已认领" in page

        r = await post_form(c, page_url, f"{page_url}/reply", text="您好，我是社工，明天上午去您家看看。")
        assert r.status_code == 303
        r = await post_form(c, "/answers", "/answers", name="问候", text="{name}您好，{village}的事我记下了，个案{case}。")
        assert r.status_code == 303
        async with world.db.session() as s:
            answer = (await s.execute(select(SavedAnswer).where(SavedAnswer.name == "问候"))).scalar_one()
            owner = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
            assert answer.staff_id == owner.id
        r = await post_form(c, page_url, f"{page_url}/reply", answer=str(answer.id))
        assert r.status_code == 303
        r = await post_form(c, page_url, f"{page_url}/note", text="老人腿脚不便，要上门。")
        assert r.status_code == 303
        page = (await c.get(page_url)).text
        assert "老人腿脚不便，要上门。" in page and "明天上午去您家看看" in page  # note and history shown

        r = await post_form(c, page_url, f"{page_url}/close", outcome="已安排上门")
        assert r.status_code == 303
        page = (await c.get(page_url)).text
        assert 'id="closed-note"' in page and 'id="reply-form"' not in page

    async with world.db.session() as s:
        h = await s.get(Handoff, hid)
        assert (h.status, h.outcome) == ("closed", "已安排上门")
        sent = [o.text for o in (await s.execute(select(OutboxMessage).where(
            OutboxMessage.recipient == "tg-1001").order_by(OutboxMessage.id))).scalars()]
        assert "【社工w1工】您好，我是社工，明天上午去您家看看。" in sent  # signed with the worker's name
        assert any("村民p1您好，东坡村的事我记下了" in t for t in sent), sent  # {name}, {village} filled in
        assert any("结束" in t for t in sent)  # the villager is told the conversation ended
        assert any("这次帮到您了吗" in t for t in sent)  # and asked how it went, as from the messenger
        relayed = (await s.execute(select(Message).where(Message.text.contains("明天上午去您家看看")))).scalar_one()
        assert relayed.staff_id == owner.id and relayed.direction == "out"
        note = (await s.execute(select(HandoffNote).where(HandoffNote.handoff_id == hid))).scalar_one()
        assert note.text == "老人腿脚不便，要上门。"
        assert "老人腿脚不便" not in " ".join(sent)  # a private note never reaches the villager
    actions = await audit_actions(world, hid)
    for action in ("handoff.claim", "handoff.message", "handoff.note", "handoff.close", "handoff.view"):
        assert action in actions, actions


async def test_outside_the_area_is_404_and_changes_nothing(world):
    other = world.ids["handoff_p3"]
    async with signed_in(world, "w1") as c:
        token = csrf_of((await c.get("/")).text)
        assert (await c.get(f"/handoffs/{other}")).status_code == 404
        assert (await c.get(f"/handoffs/99999")).status_code == 404
        for action, data in (("claim", {}), ("reply", {"text": "hi"}), ("note", {"text": "x"}),
                             ("transfer", {"to": "w1"}), ("close", {"outcome": "x"})):
            r = await c.post(f"/handoffs/{other}/{action}", data={"csrf_token": token, **data})
            assert r.status_code == 404, (action, r.status_code)
        assert (await c.get(f"/handoffs/{other}/events")).status_code == 404  # nor its live history
    async with signed_in(world, "viewer") as c:
        for url in ("/live/queue", "/live/home", "/supervise/events", f"/handoffs/{other}/events"):
            assert (await c.get(url)).status_code == 404, url
    async with world.db.session() as s:
        h = await s.get(Handoff, other)
        assert h.status == "waiting" and h.claimed_by_staff_id is None
        assert (await s.execute(select(HandoffNote))).first() is None


async def test_forms_without_the_csrf_token_are_refused(world):
    hid = world.ids["handoff_p1"]
    async with signed_in(world, "w1") as c:
        for data in ({}, {"csrf_token": "forged"}):
            r = await c.post(f"/handoffs/{hid}/claim", data=data)
            assert r.status_code == 403
        r = await c.post("/answers", data={"name": "x", "text": "y", "csrf_token": "forged"})
        assert r.status_code == 403
    async with world.db.session() as s:
        assert (await s.get(Handoff, hid)).status == "waiting"
        assert (await s.execute(select(SavedAnswer))).first() is None


async def test_only_the_claimer_replies_and_transfer_respects_areas(world):
    hid = world.ids["handoff_p1"]
    page_url = f"/handoffs/{hid}"
    async with signed_in(world, "sup") as sup, signed_in(world, "w1") as w1:
        assert (await post_form(sup, page_url, f"{page_url}/claim")).status_code == 303
        page = (await w1.get(page_url)).text
        assert 'id="not-yours"' in page and 'id="reply-form"' not in page
        r = await post_form(w1, page_url, f"{page_url}/reply", text="我来答")
        assert r.status_code == 409 and "只有认领的社工可以回复" in r.text
        r = await post_form(w1, page_url, f"{page_url}/claim")
        assert r.status_code == 409 and "sup工" in r.text  # told who took it
        r = await post_form(sup, page_url, f"{page_url}/transfer", to="w3")
        assert r.status_code == 422 and html.escape("“w3”不负责这个村") in r.text
        r = await post_form(sup, page_url, f"{page_url}/transfer", to="w1")
        assert r.status_code == 303
        page = (await w1.get(page_url)).text
        assert 'id="reply-form"' in page
    async with world.db.session() as s:
        h = await s.get(Handoff, hid)
        w1_id = (await s.execute(select(Staff.id).where(Staff.username == "w1"))).scalar_one()
        assert h.status == "claimed" and h.claimed_by_staff_id == w1_id
    assert "handoff.transfer" in await audit_actions(world, hid)


async def test_a_villager_name_with_markup_renders_as_text(world):
    hid = world.ids["handoff_p1"]
    async with world.db.session() as s:
        (await s.get(Person, world.ids["p1"])).display_name = SCRIPT_NAME
        s.add(Message(person_id=world.ids["p1"], channel="telegram", direction="in",
                      text="<img src=x onerror=alert(1)>帮帮我"))
    async with signed_in(world, "w1") as c:
        for url in (f"/handoffs/{hid}", "/queue", "/"):
            page = (await c.get(url)).text
            assert "<script>alert" not in page and "<img src=x" not in page, url
            assert str(escape(SCRIPT_NAME)) in page, url
        r = await c.get(f"/handoffs/{hid}")
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert "unsafe-inline" not in r.headers["content-security-policy"]


async def test_supervisor_view_shows_queue_load_and_duty(world):
    async with signed_in(world, "sup") as sup:
        hid = world.ids["handoff_p1"]
        await post_form(sup, f"/handoffs/{hid}", f"/handoffs/{hid}/transfer", to="w1")
        page = (await sup.get("/supervise")).text
        row = re.search(r'<tr data-username="w1">(.*?)</tr>', page, re.S).group(1)
        assert '<td class="tight load">1</td>' in row
        assert "在班" in row  # Monday 10:00 in Asia/Shanghai: office hours
        assert 'data-username="w3"' not in page  # another township's worker
        assert f'data-id="{hid}"' in page
    async with signed_in(world, "w1") as w1:
        assert (await w1.get("/supervise")).status_code == 404
        assert 'id="nav-supervise"' not in (await w1.get("/")).text
    async with signed_in(world, "viewer") as viewer:
        assert (await viewer.get("/queue")).status_code == 404
        assert (await viewer.get(f"/handoffs/{hid}")).status_code == 404


async def test_attachments_image_inline_voice_playable_and_area_checked(world, tmp_path):
    settings = world.app.state.services.settings
    settings.media_dir = tmp_path / "media"
    store = MediaStore(settings.media_dir)
    photo = store.save(b"\x89PNG\r\n\x1a\nfake", mime="image/png")
    voice = store.save(b"OggS fake", mime="audio/ogg")
    amr = store.save(b"#!AMR fake", mime="audio/amr")
    async with world.db.session() as s:
        m = Message(person_id=world.ids["p1"], channel="telegram", direction="in", text="看看这个",
                    attachments=[{"kind": "photo", "path": photo, "mime": "image/png"},
                                 {"kind": "voice", "path": voice, "mime": "audio/ogg", "text": "屋顶漏了"},
                                 {"kind": "voice", "path": amr, "mime": "audio/amr"}])
        s.add(m)
        await s.flush()
        mid = m.id
    hid = world.ids["handoff_p1"]
    async with signed_in(world, "w1") as c:
        page = (await c.get(f"/handoffs/{hid}")).text
        assert f'<img src="/handoffs/{hid}/files/{mid}/0"' in page
        assert f'<audio controls preload="none" src="/handoffs/{hid}/files/{mid}/1">' in page
        assert "屋顶漏了" in page  # the transcript
        assert f'<a href="/handoffs/{hid}/files/{mid}/2">' in page  # AMR: a link, Chromium cannot play it
        r = await c.get(f"/handoffs/{hid}/files/{mid}/0")
        assert r.status_code == 200 and r.content == b"\x89PNG\r\n\x1a\nfake" and r.headers["content-type"] == "image/png"
        assert (await c.get(f"/handoffs/{hid}/files/{mid}/9")).status_code == 404
        # the message belongs to p1: asked through p3's handoff it is not there
        assert (await c.get(f"/handoffs/{world.ids['handoff_p3']}/files/{mid}/0")).status_code == 404
    async with signed_in(world, "w3") as c:
        assert (await c.get(f"/handoffs/{hid}/files/{mid}/0")).status_code == 404


async def test_english_switch_and_static_assets(world):
    async with signed_in(world, "w1") as c:
        page = (await c.get("/queue?lang=en")).text
        assert "<h1>Queue" in page and 'lang="en"' in page
        assert "<h1>Queue" in (await c.get("/queue")).text  # remembered by the cookie
        css = await c.get("/static/web.css")
        assert css.status_code == 200 and "overflow-wrap" in css.text
        js = await c.get("/static/vendor/htmx.min.js")
        if js.status_code == 404:
            pytest.fail("htmx is missing: run `make web-assets`")
        assert "htmx" in js.text[:2000]
        assert (await c.get("/static/vendor/sse.min.js")).status_code == 200


async def test_saved_answers_own_and_shared(world):
    async with signed_in(world, "admin") as admin:
        r = await post_form(admin, "/answers", "/answers", name="办公时间", text="办公时间是周一到周五 8:30–17:30。",
                            shared="1")
        assert r.status_code == 303
    async with signed_in(world, "w1") as w1:
        r = await post_form(w1, "/answers", "/answers", name="我的", text="我是{name}的社工。", shared="1")
        assert r.status_code == 303  # a worker's answer is their own, even if they ask to share it
        r = await post_form(w1, "/answers", "/answers", name="有 空格", text="x")
        assert r.status_code == 422 and "空格" in r.text
        page = (await w1.get("/answers")).text
        shared = re.search(r'<ul class="answers" id="shared-answers">(.*?)</ul>', page, re.S).group(1)
        own = re.search(r'<ul class="answers" id="own-answers">(.*?)</ul>', page, re.S).group(1)
        assert "办公时间" in shared and "/delete" not in shared  # shared: theirs to use, not to delete
        assert "我的" in own and "我的" not in shared
        async with world.db.session() as s:
            rows = {a.name: a for a in (await s.execute(select(SavedAnswer))).scalars()}
        assert rows["办公时间"].staff_id is None and rows["我的"].staff_id is not None
        token = csrf_of(page)
        assert (await w1.post(f"/answers/{rows['办公时间'].id}/delete", data={"csrf_token": token})).status_code == 404
        hid = world.ids["handoff_p1"]
        await post_form(w1, f"/handoffs/{hid}", f"/handoffs/{hid}/claim")
        r = await post_form(w1, f"/handoffs/{hid}", f"/handoffs/{hid}/reply", answer=str(rows["办公时间"].id))
        assert r.status_code == 303
        async with signed_in(world, "w3") as w3:  # another worker's own answer is not theirs to send
            r = await post_form(w3, "/answers", "/answers", name="w3的", text="w3 的话")
        async with world.db.session() as s:
            w3_answer = (await s.execute(select(SavedAnswer).where(SavedAnswer.name == "w3的"))).scalar_one()
        r = await post_form(w1, f"/handoffs/{hid}", f"/handoffs/{hid}/reply", answer=str(w3_answer.id))
        assert r.status_code == 422 and "没有这条常用回复" in r.text
        r = await post_form(w1, "/answers", f"/answers/{rows['我的'].id}/delete")
        assert r.status_code == 303
    async with world.db.session() as s:
        assert {a.name for a in (await s.execute(select(SavedAnswer))).scalars()} == {"办公时间", "w3的"}
        sent = [o.text for o in (await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == "tg-1001"))).scalars()]
        assert "【社工w1工】办公时间是周一到周五 8:30–17:30。" in sent and not any("w3 的话" in t for t in sent)


async def test_live_queue_stream_sends_changed_fragments_only(world, monkeypatch):
    from bot.web import live

    monkeypatch.setattr(live, "LIFETIME", 0.8)  # the stream ends by itself, so the test can read it whole
    world.app.state.services.settings.web_poll_seconds = 0.1
    hid = world.ids["handoff_p1"]
    async with signed_in(world, "w1") as c:
        r = await c.get("/live/queue")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.text.count("event: queue\n") == 1  # polled several times, sent once: it did not change
    assert f'data: <ul class="rows" id="queue-list">' in r.text and f'data-id="{hid}"' in r.text
    assert f'data-id="{world.ids["handoff_p3"]}"' not in r.text  # another area's handoff


async def test_live_conversation_says_when_someone_else_claimed_it(world, monkeypatch):
    from bot.web import live

    monkeypatch.setattr(live, "LIFETIME", 0.5)
    world.app.state.services.settings.web_poll_seconds = 0.1
    hid = world.ids["handoff_p1"]
    async with signed_in(world, "w1") as w1, signed_in(world, "sup") as sup:
        page = (await w1.get(f"/handoffs/{hid}")).text
        stream_url = re.search(r'sse-connect="([^"]+)"', page).group(1)
        assert stream_url == f"/handoffs/{hid}/events?seen=waiting:0"
        quiet = (await w1.get(stream_url)).text
        assert "event: state\n" in quiet and "event: history\n" in quiet and 'id="state-changed"' not in quiet
        await post_form(sup, f"/handoffs/{hid}", f"/handoffs/{hid}/claim")
        told = (await w1.get(stream_url)).text
        assert 'id="state-changed"' in told and "sup工" in told


async def test_release_case_status_duty_and_the_on_call_rota_through_the_pages(world):
    """The desk service's actions the messenger has, from the pages: release back to the queue,
    the case's status (the villager is told), the duty switch, the rota on the supervisor's view."""
    hid = world.ids["handoff_p1"]
    page_url = f"/handoffs/{hid}"
    async with world.db.session() as s:
        h = await s.get(Handoff, hid)
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == world.ids["case_p1"]))).scalar_one()
        h.case_id = case.id
        w1 = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
        await routing.add_on_call(s, w1.id, world.clock() - timedelta(hours=1), world.clock() + timedelta(hours=8))
    async with signed_in(world, "w1") as c:
        await post_form(c, page_url, f"{page_url}/claim")
        page = (await c.get(page_url)).text
        assert 'id="release-form"' in page and 'id="status-form"' in page
        r = await post_form(c, page_url, f"{page_url}/status", status="resolved")
        assert r.status_code == 303 and r.headers["location"].endswith("done=status")
        r = await post_form(c, page_url, f"{page_url}/release")
        assert r.status_code == 303 and r.headers["location"].endswith("done=release")

        home = (await c.get("/")).text
        assert 'id="duty-form"' in home and re.search(r'id="duty-state" class="on"', home)
        r = await post_form(c, "/", "/duty", on="0")
        assert r.status_code == 303 and r.headers["location"] == "/?done=duty"
        home = (await c.get("/")).text
        assert re.search(r'id="duty-state" class="off"', home) and 'id="duty-until"' in home
    async with signed_in(world, "sup") as sup:
        page = (await sup.get("/supervise")).text
        row = re.search(r'<tr data-username="w1">(.*?)</tr>', page, re.S).group(1)
        assert "下班" in row and 'class="override"' in row  # off by hand, until the next shift boundary
        rota = re.search(r'<ul class="rota" id="rota-list">(.*?)</ul>', page, re.S).group(1)
        assert "w1工" in rota
    async with signed_in(world, "viewer") as viewer:
        page = await viewer.get("/")
        assert 'id="duty-form"' not in page.text
    async with world.db.session() as s:
        h = await s.get(Handoff, hid)
        assert h.status == "waiting" and h.claimed_by_staff_id is None
        assert (await s.get(NeedRequest, h.case_id)).status == "resolved"
        w1 = (await s.execute(select(Staff).where(Staff.username == "w1"))).scalar_one()
        assert w1.duty_override == "off" and w1.duty_override_until is not None
        sent = [o.text for o in (await s.execute(select(OutboxMessage).where(
            OutboxMessage.recipient == "tg-1001"))).scalars()]
        assert any(world.ids["case_p1"] in t for t in sent), sent  # the villager is told of the status
    actions = await audit_actions(world, hid)
    for action in ("handoff.claim", "handoff.status", "handoff.release"):
        assert action in actions, actions
