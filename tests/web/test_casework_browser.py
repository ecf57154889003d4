"""Casework in a real browser (Debian's Chromium through Playwright) against a real `xiangzhu
serve` with the demo data, at phone size (375×667): a villager who wrote `<script>` in their
case, the worker signs in, opens the case from the list, adds a plan item and a task, refers
the case to an agency — and the villager, over REST, is told — marks it done (told again) and
advances the stage. The villager's markup shows as text and no page scrolls sideways."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage import cases as case_service
from storage.areas import get_by_code
from storage.db import Database
from storage.models import ChannelIdentity
from sqlalchemy import select
from tests.support import wait_until
from tests.web.test_inbox_browser import PHONE, no_sideways_scroll, sign_in, villager_inbox, villager_says, watch_console

pytestmark = [pytest.mark.slow]

WORKER = ("wangfang", "demo-worker-2026")  # covers 东坡村
SCRIPT = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>家里屋顶漏雨"


def open_case_for(server, sender: str) -> str:
    """The case a finished intake would have opened for the villager (in 东坡村)."""
    async def run() -> str:
        db = Database(f"sqlite+aiosqlite:///{server.db_path}")
        try:
            async with db.session() as s:
                person_id = (await s.execute(select(ChannelIdentity.person_id).where(
                    ChannelIdentity.channel == "rest", ChannelIdentity.external_id == sender))).scalar_one()
                village = await get_by_code(s, "qingshan.shiqiao.dongpo")
                case = await case_service.open_case(s, person_id=person_id, category="housing", description=SCRIPT,
                                                    village_id=village.id)
                return case.number
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_plan_task_referral_stage_in_the_browser(server, browser, artifacts):
    sender = "cw-villager-1"
    villager_says(server.base, sender, "你好")
    number = open_case_for(server, sender)
    page = browser.new_page(viewport=PHONE)
    problems = watch_console(page)
    missing: list[str] = []  # the browser's own /favicon.ico aside, nothing the pages ask for is missing
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    sign_in(page, server.base, *WORKER)
    page.click("#nav-cases")
    page.wait_for_selector(f'[data-number="{number}"]')
    assert no_sideways_scroll(page)
    page.click(f'[data-number="{number}"] a')
    page.wait_for_selector("#case-number")
    assert SCRIPT in page.inner_text("#case-description")  # the markup is text
    assert page.evaluate("window.__pwned") is None
    assert no_sideways_scroll(page)

    page.fill("#plan-what", "申请危房改造补助")
    page.select_option("#plan-who", "agency:bianmin")
    page.click("#plan-form button[type=submit]")
    page.wait_for_selector("#action-done")
    assert "申请危房改造补助" in page.inner_text("#plan-items")

    page.fill("#task-title", "上门看房子")
    page.click("#task-form button[type=submit]")
    page.wait_for_selector("#tasks li")
    assert "上门看房子" in page.inner_text("#tasks")

    page.select_option("#referral-agency", "minzheng")
    page.fill("#referral-reason", "申请临时救助")
    page.click("#referral-form button[type=submit]")
    page.wait_for_selector('#referrals li[data-status="sent"]')
    wait_until(lambda: any(number in m and "县民政局" in m for m in villager_inbox(server.base, sender)), 30,
               "the villager is told of the referral")
    page.click('#referrals li[data-status="sent"] button[value="done"]')
    page.wait_for_selector('#referrals li[data-status="done"]')
    wait_until(lambda: any("办好了" in m for m in villager_inbox(server.base, sender)), 30,
               "the villager is told the referral is done")

    page.select_option("#stage-to", "assessed")
    page.click("#stage-form button[type=submit]")
    page.wait_for_selector('#case-stage[data-stage="assessed"]')
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "casework-case.png"), full_page=True)
    page.goto(server.base + "/?lang=en")
    page.goto(server.base + f"/cases/{number}")
    assert "Case plan" in page.inner_text("body") and SCRIPT in page.inner_text("#case-description")
    assert no_sideways_scroll(page)
    assert page.evaluate("window.__pwned") is None
    assert missing == []
    assert [p for p in problems if "Failed to load resource" not in p] == []


def seed_ages_and_flags(server) -> dict:
    """In 东坡村: case A opened 10 days ago for a flagged household, case B opened today for the
    same household, case C opened 10 days ago for a household without a flag."""
    from datetime import timedelta

    from storage import flags
    from storage.models import Person, utcnow

    async def run() -> dict:
        db = Database(f"sqlite+aiosqlite:///{server.db_path}")
        try:
            async with db.session() as s:
                village = await get_by_code(s, "qingshan.shiqiao.dongpo")
                flagged = Person(display_name="赵大娘", village_id=village.id, consent_given=True)
                plain = Person(display_name="钱大爷", village_id=village.id, consent_given=True)
                s.add_all([flagged, plain])
                await s.flush()
                old = utcnow() - timedelta(days=10)
                numbers = {}
                for key, person, when in (("a", flagged, old), ("b", flagged, utcnow()), ("c", plain, old)):
                    case = await case_service.open_case(s, person_id=person.id, category="livelihood",
                                                        description=f"年龄筛选 {key}", village_id=village.id, now=when)
                    case.created_at = when
                    numbers[key] = case.number
                await flags.add_flag(s, flagged.id, flags.WATCH, reason="<b>因病</b>返贫风险", now=old)
                return numbers
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_age_and_flagged_filters_flags_on_the_case_and_the_match_link(server, browser):
    numbers = seed_ages_and_flags(server)
    page = browser.new_page(viewport=PHONE)
    problems = watch_console(page)
    sign_in(page, server.base, *WORKER)
    page.goto(server.base + "/cases")
    page.click("#case-filters >> xpath=.. >> summary")
    page.fill("#f-older", "7")
    page.check("#f-flagged")
    page.click("#case-filters button[type=submit]")
    page.wait_for_selector(f'[data-number="{numbers["a"]}"]')
    assert "older=7" in page.url and "flagged=1" in page.url
    listed = page.eval_on_selector_all("#case-list [data-number]", "els => els.map(e => e.dataset.number)")
    assert numbers["b"] not in listed and numbers["c"] not in listed  # too new; not flagged
    assert page.inner_text(f'[data-number="{numbers["a"]}"] .badge.flagged')
    assert no_sideways_scroll(page)

    page.click(f'[data-number="{numbers["a"]}"] a')
    page.wait_for_selector("#flags")
    flag = page.inner_text('#flags li[data-kind="return_to_poverty_watch"]')
    assert "防返贫监测" in flag and "<b>因病</b>返贫风险" in flag  # the reason is text
    assert "下次回访" in flag
    assert no_sideways_scroll(page)
    page.click("#find-help")
    page.wait_for_url(f"**/cases/{numbers['a']}/match")
    assert numbers["a"] in page.inner_text("h1")
    assert no_sideways_scroll(page)

    page.goto(server.base + f"/cases/{numbers['c']}")
    assert page.inner_text("#no-flags")
    assert [p for p in problems if "Failed to load resource" not in p] == []


def add_case_note(server, number: str, text: str) -> None:
    async def run() -> None:
        from storage.models import Staff

        db = Database(f"sqlite+aiosqlite:///{server.db_path}")
        try:
            async with db.session() as s:
                case = await case_service.get_case(s, number)
                staff = (await s.execute(select(Staff).where(Staff.username == "wangfang"))).scalar_one()
                await case_service.add_note(s, case, text, staff_id=staff.id)
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def test_the_case_timeline_updates_live_and_admins_keep_agencies(server, browser):
    sender = "cw-villager-live"
    villager_says(server.base, sender, "你好")
    number = open_case_for(server, sender)
    page = browser.new_page(viewport=PHONE)
    problems = watch_console(page)
    sign_in(page, server.base, *WORKER)
    page.goto(server.base + f"/cases/{number}")
    page.wait_for_selector("#timeline")
    assert page.locator("#nav-agencies").count() == 0  # workers do not keep the agencies
    add_case_note(server, number, "<img src=x onerror=window.__pwned=3>邻居说老人住院了")
    # no reload: the page's event stream brings it (the strict CSP forbids wait_for_function's eval)
    page.wait_for_selector("#timeline >> text=邻居说老人住院了", timeout=15000)
    assert "<img src=x" in page.inner_text("#timeline") and page.evaluate("window.__pwned") is None

    admin = browser.new_page(viewport=PHONE)
    admin_problems = watch_console(admin)
    sign_in(admin, server.base, "admin", "demo-admin-2026")
    admin.click("#nav-agencies")
    admin.wait_for_selector('#agency-list [data-code="minzheng"]')
    admin.fill("#agency-name", "县妇联")
    admin.fill("#agency-code", "fulian")
    admin.select_option("#agency-kind", "government")
    admin.click("#agency-form button[type=submit]")
    admin.wait_for_selector('#agency-list [data-code="fulian"][data-active="1"]')
    admin.click('#agency-list [data-code="canlian"] button[value="0"]')
    admin.wait_for_selector('#agency-list [data-code="canlian"][data-active="0"]')
    assert no_sideways_scroll(admin)

    page.reload()
    options = page.eval_on_selector_all("#referral-agency option", "els => els.map(e => e.value)")
    assert "fulian" in options and "canlian" not in options
    assert [p for p in problems + admin_problems if "Failed to load resource" not in p] == []
