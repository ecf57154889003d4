"""Campaigns and broadcasts on the staff web through the real ASGI app, as a browser fills the
forms (CSRF token from the page), on SQLite and PostgreSQL — the world of
tests/api/conftest.py: sup covers the township of v1 and v2, w1 is a worker of v1, p1 lives
in v1 and p3 in v3 (another township).

Checked in the database and the outbox with a hand-moved clock: a campaign made on the page
schedules its row, the real timer sends it to p1's messenger, p1's answer is counted and shown
as text; pause and resume; a broadcast's preview leaves out the opted-out, confirming sends
it; workers, other areas and a wrong CSRF token are refused."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from types import SimpleNamespace

from markupsafe import escape
from sqlalchemy import select

import bot.broadcasts  # noqa: F401  registers the timer handlers
import bot.campaigns  # noqa: F401
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage.models import Area, AuditEntry, CampaignSend, ChannelIdentity, Message, OutboxMessage, Person, Timer
from tests.web.test_inbox_pages import csrf_of, post_form, signed_in

SCRIPT = "<script>alert('x')</script>还好<b>"


def services_of(world):
    return SimpleNamespace(db=world.db, settings=load_settings(), clock=world.clock)


async def campaign_timers(world) -> list[Timer]:
    async with world.db.session() as s:
        return list((await s.execute(select(Timer).where(Timer.kind == "campaign", Timer.state == "pending")
                                     .order_by(Timer.due_at))).scalars())


async def test_campaign_made_on_the_page_runs_and_counts_answers(world):
    async with signed_in(world, "sup") as c:
        new = await c.get("/campaigns/new")
        assert new.status_code == 200 and 'value="v1"' in new.text and 'value="v3"' not in new.text
        r = await post_form(c, "/campaigns/new", "/campaigns", name="同意后一天问候", segment="village", area="v1",
                            anchor="consent_date", amount="1", unit="days", direction="after", hour="10",
                            what="text", text_zh="最近还好吗？" + SCRIPT, text_en="How are you?")
        assert r.status_code == 303, r.text[:800]
        url = r.headers["location"].split("?")[0]
        page = await c.get(r.headers["location"])
        assert "消息已排期（1 条）" in page.text and str(escape(SCRIPT)) in page.text and SCRIPT not in page.text
        (row,) = await campaign_timers(world)
        assert row.due_at == world.clock() + timedelta(days=1)  # 10:00 local the next day

        # the timer fires when the (hand-set) clock reaches it: p1's messenger gets it
        assert await claim_and_run_timers(services_of(world), claimer="t", now=row.due_at) == 1
        async with world.db.session() as s:
            (out,) = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "campaign"))).scalars().all()
            assert out.recipient == "tg-1001" and out.text.startswith("最近还好吗？")
            (send,) = (await s.execute(select(CampaignSend))).scalars().all()
            assert (send.person_id, send.status, send.outbox_id) == (world.ids["p1"], "sent", out.id)
            s.add(Message(person_id=world.ids["p1"], channel="telegram", direction="in", text=SCRIPT,
                          created_at=row.due_at + timedelta(minutes=5)))
        listing = (await c.get("/campaigns")).text
        assert re.search(r'class="sent">1<', listing) and re.search(r'class="answered">1<', listing)
        assert re.search(r'class="opted-out">0<', listing)
        async with world.db.session() as s:
            (await s.get(Person, world.ids["p1"])).opted_out = True  # 退订 after the message
        assert re.search(r'class="opted-out">1<', (await c.get("/campaigns")).text)
        async with world.db.session() as s:
            (await s.get(Person, world.ids["p1"])).opted_out = False
        page = (await c.get(url)).text
        assert str(escape(SCRIPT)) in page and page.count(SCRIPT) == 0  # the answer, as text
        async with world.db.session() as s:
            viewed = (await s.execute(select(AuditEntry).where(AuditEntry.action == "campaign.view"))).scalars().all()
            assert viewed and viewed[-1].target == url.replace("/campaigns/", "campaign:")

        for english in ("/campaigns", "/campaigns/new", url, "/broadcasts", "/broadcasts/new"):
            r = await c.get(english + "?lang=en")
            assert r.status_code == 200 and 'lang="en"' in r.text, english
        await c.get("/campaigns?lang=zh")  # back to Chinese (the switch is kept in a cookie)

        # pause cancels the pending rows; an edit reschedules; resume writes them again
        async with world.db.session() as s:
            later = Person(display_name="新来的", village_id=(await s.execute(select(Area).where(Area.code == "v1"))
                                                             ).scalar_one().id, consent_given=True,
                           consent_at=world.clock())
            s.add(later)
        r = await post_form(c, url, f"{url}/state", state="paused")
        assert r.status_code == 303 and await campaign_timers(world) == []
        assert "已暂停" in (await c.get(url)).text
        r = await post_form(c, url, f"{url}/state", state="active")
        assert r.status_code == 303 and len(await campaign_timers(world)) == 2  # p1 and the newcomer
        r = await post_form(c, url, url, name="同意后两天问候", segment="village", area="v1", anchor="consent_date",
                            amount="2", unit="days", direction="after", hour="9", what="text", text_zh="您好")
        assert r.status_code == 303
        rows = await campaign_timers(world)  # rescheduled: two days later at 09:00 local
        assert [t.due_at - world.clock() for t in rows] == [timedelta(days=2, hours=-1)] * 2


async def test_campaign_pages_keep_to_roles_and_areas(world):
    async with signed_in(world, "w1") as c:
        assert (await c.get("/campaigns")).status_code == 403
        assert (await c.get("/broadcasts/new")).status_code == 403
    async with signed_in(world, "admin") as c:
        r = await post_form(c, "/campaigns/new", "/campaigns", name="柳树村问候", segment="village", area="v3",
                            anchor="consent_date", amount="3", unit="days", direction="after", what="text",
                            text_zh="您好")
        assert r.status_code == 303
        other = r.headers["location"].split("?")[0]
    async with signed_in(world, "sup") as c:
        assert "柳树村问候" not in (await c.get("/campaigns")).text
        assert (await c.get(other)).status_code == 404
        page = await c.get("/campaigns/new")
        r = await c.post(f"{other}/state", data={"csrf_token": csrf_of(page.text), "state": "paused"})
        assert r.status_code == 404
        r = await post_form(c, "/campaigns/new", "/campaigns", name="x", segment="village", area="v3",
                            anchor="consent_date", amount="1", unit="days", direction="after", what="text",
                            text_zh="您好")
        assert r.status_code == 422 and "请选择您负责的地区" in r.text
        r = await post_form(c, "/campaigns/new", "/campaigns", name="x", segment="everyone", anchor="consent_date",
                            amount="1", unit="days", direction="after", what="text", text_zh="您好")
        assert r.status_code == 422 and "只有管理员" in r.text
        r = await post_form(c, "/campaigns/new", "/campaigns", name="x", segment="village", area="v1",
                            anchor="consent_date", amount="1", unit="days", direction="after", what="flow",
                            flow="no_such_flow")
        assert r.status_code == 422 and "已发布的对话流程" in r.text
        r = await c.post("/campaigns", data={"csrf_token": "wrong", "name": "x"})
        assert r.status_code == 403
    assert len(await campaign_timers(world)) == 1  # only the admin's


async def test_broadcast_preview_excludes_opted_out_then_sends(world):
    async with world.db.session() as s:
        v1 = (await s.execute(select(Area).where(Area.code == "v1"))).scalar_one()
        gone = Person(display_name=SCRIPT, village_id=v1.id, consent_given=True, opted_out=True)
        s.add(gone)
        await s.flush()
        s.add(ChannelIdentity(channel="telegram", external_id="tg-1002", person_id=gone.id,
                              last_inbound_at=world.clock()))
    async with signed_in(world, "sup") as c:
        r = await post_form(c, "/broadcasts/new", "/broadcasts/preview", segment="village", area="v1",
                            text_zh="周六村委会发冬衣" + SCRIPT)
        assert r.status_code == 200
        assert "会发给：1 人" in r.text and "不发（已退订）：1 人" in r.text
        assert str(escape(SCRIPT)) in r.text and SCRIPT not in r.text
        confirm = {m[0]: html.unescape(m[1]) for m in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text)}
        r = await c.post("/broadcasts", data=confirm)
        assert r.status_code == 303
        url = r.headers["location"].split("?")[0]
        assert (await c.get(url)).status_code == 200
        await claim_and_run_timers(services_of(world), claimer="t", now=world.clock())
        progress = (await c.get(f"{url}/progress")).text
        assert re.search(r'class="queued">1<', progress) and re.search(r'data-reason="opted_out">1<', progress)
        r = await post_form(c, "/broadcasts/new", "/broadcasts/preview", segment="village", area="v3", text_zh="x")
        assert r.status_code == 422
    async with world.db.session() as s:
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))).scalars().all()
        assert [(o.recipient, o.text) for o in rows] == [("tg-1001", "周六村委会发冬衣" + SCRIPT)]
    async with signed_in(world, "admin") as c:
        r = await post_form(c, "/broadcasts/new", "/broadcasts/preview", segment="village", area="v3", text_zh="y")
        confirm = {m[0]: html.unescape(m[1]) for m in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', r.text)}
        other = (await c.post("/broadcasts", data=confirm)).headers["location"].split("?")[0]
    async with signed_in(world, "sup") as c:
        assert (await c.get(other)).status_code == 404
        assert f'href="{other}"' not in (await c.get("/broadcasts")).text
