"""Campaigns and broadcasts in a real browser against a real `xiangzhu serve` with the demo
data, on a phone-sized screen (375×667, no sideways scroll), under the strict CSP: the
township's supervisor makes a campaign on the page; the test moves a hand-set clock to the
campaign's due time and runs the real timers (bot/scheduler.claim_and_run_timers) on the same
database — the server's outbox delivers the message to the villager over REST; the villager's
answer (with markup) shows on the campaign's page as text. Then a broadcast to the village:
preview, confirm, and the recipient's message arrives over REST while the page shows the
progress. (This server runs with quiet hours off: the broadcast is sent at once by the
server's own leader, whatever the hour of the test run.)"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from bot.config import load_settings
from storage.db import Database
from storage.models import Area, ChannelIdentity, Person, Timer
from tests.bot.test_process_pipeline import Server
from tests.support import wait_until
from tests.web.test_inbox_browser import (PHONE, no_sideways_scroll, sign_in, villager_inbox, villager_says,
                                          watch_console)

pytestmark = [pytest.mark.slow]

SUPERVISOR = ("liuzhan", "demo-supervisor-2026")
XIPO = "qingshan.shiqiao.xipo"
SCRIPT = "<script>window.__pwned=1</script>挺好<b>"


@pytest.fixture(scope="module")
def quiet_off_server(tmp_path_factory, demo_databases):
    tmp = tmp_path_factory.mktemp("outreach")
    url = f"sqlite+aiosqlite:///{tmp}/web.db"
    demo_databases.copy_to(tmp / "web.db")
    srv = Server(url, tmp, "outreach", web_poll_seconds="0.3", quiet_hours="off")
    srv.url = url
    srv.wait_ready()
    yield srv
    srv.stop()


def run(coro_fn, *args):
    """An async step on the test's own connection to the server's database, in a thread (the
    sync Playwright API owns this one's event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn(*args)).result()


async def settle_in_xipo(url: str, sender: str) -> int:
    """The REST villager lives in 西坡村 and consented now (as the consent flow and the
    village question would record)."""
    db = Database(url)
    try:
        async with db.session() as s:
            ident = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.channel == "rest",
                                                                   ChannelIdentity.external_id == sender))).scalar_one()
            person = await s.get(Person, ident.person_id)
            xipo = (await s.execute(select(Area).where(Area.code == XIPO))).scalar_one()
            person.village_id, person.consent_given = xipo.id, True
            person.consent_at = datetime.now(timezone.utc)
            return person.id
    finally:
        await db.dispose()


async def fire_campaign(url: str) -> datetime:
    """Move a hand-set clock to the pending campaign row's due time and run the timers then."""
    import bot.campaigns  # noqa: F401  registers the handler
    from bot.scheduler import claim_and_run_timers

    db = Database(url)
    try:
        async with db.session() as s:
            (row,) = (await s.execute(select(Timer).where(Timer.kind == "campaign", Timer.state == "pending")))\
                .scalars().all()
        due = row.due_at
        services = SimpleNamespace(db=db, settings=load_settings(database_url=url, quiet_hours="off"),
                                   clock=lambda: due)
        assert await claim_and_run_timers(services, claimer="test-clock", now=due) >= 1
        return due
    finally:
        await db.dispose()


def test_campaign_made_on_the_page_reaches_the_villager_then_a_broadcast(quiet_off_server, browser, artifacts):
    base = quiet_off_server.base
    sender = "campaign-villager"
    villager_says(base, sender, "你好")
    run(settle_in_xipo, quiet_off_server.url, sender)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = watch_console(page)
    sign_in(page, base, *SUPERVISOR)

    page.goto(base + "/campaigns")
    page.click("#new-campaign")
    page.fill("#name", "同意后一天问候")
    page.select_option("#segment", "village")
    page.select_option("#area", XIPO)
    page.select_option("#anchor", "consent_date")
    page.fill("#amount", "1")
    page.select_option("#unit", "days")
    page.select_option("#direction", "after")
    page.fill("#hour", "10")
    page.check("#what-text")
    page.fill("#text_zh", "乡助问候：最近家里还好吗？")
    assert no_sideways_scroll(page)
    page.click("#campaign-form button[type=submit]")
    page.wait_for_selector("#action-done")
    assert page.inner_text("#campaign-report .pending") == "1"
    assert no_sideways_scroll(page)
    campaign_url = page.url.split("?")[0]

    run(fire_campaign, quiet_off_server.url)
    wait_until(lambda: any("最近家里还好吗" in t for t in villager_inbox(base, sender)), 30,
               "the campaign message over REST")
    villager_says(base, sender, SCRIPT)
    page.goto(campaign_url)
    assert page.inner_text("#campaign-report .sent") == "1"
    assert page.inner_text("#campaign-report .answered") == "1"
    assert page.inner_text("#campaign-sends .send-answer") == SCRIPT
    assert page.evaluate("window.__pwned") is None
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "campaign-phone.png"), full_page=True)
    page.goto(base + "/campaigns")
    assert page.inner_text("#campaign-list .answered") == "1"

    page.goto(base + "/broadcasts")
    page.click("#new-broadcast")
    page.select_option("#segment", "village")
    page.select_option("#area", XIPO)
    page.fill("#text_zh", "通知：周六上午村委会发冬衣。")
    page.click("#broadcast-form button[type=submit]")
    page.wait_for_selector("#broadcast-preview")
    assert "会发给：1 人" in page.inner_text("#preview-will-send")
    assert no_sideways_scroll(page)
    page.click("#confirm-form button[type=submit]")
    page.wait_for_selector("#broadcast-progress")
    wait_until(lambda: any("周六上午村委会发冬衣" in t for t in villager_inbox(base, sender)), 30,
               "the broadcast over REST")
    # the page follows the progress by itself (htmx): every recipient handed to the outbox
    # (a REST villager without a callback polls for it, so it stays "queued", not "delivered")
    page.wait_for_selector("#broadcast-progress[data-state=done]", timeout=30000)
    assert page.inner_text("#broadcast-progress .total") == "1"
    assert page.inner_text("#broadcast-progress .queued") == "1"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "broadcast-phone.png"), full_page=True)
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p], problems
    context.close()
