"""Resource linking in a real browser against a real `xiangzhu serve` with the demo data, on a
phone-sized screen (375×667): a villager files a need over REST; the village's social worker
registers an offer on the web, approves it, finds it a match from the case's page, confirms
it — and the villager receives the news over REST; a worker proposes a match from the case
page's top offers. An offer's text with markup renders as text; the pages run under the
strict CSP without a console error."""
from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.support import wait_until
from tests.web.test_inbox_browser import (PHONE, no_sideways_scroll, sign_in, villager_inbox, villager_says,
                                          watch_console)

pytestmark = [pytest.mark.slow]

WORKER = ("chenjie", "demo-worker-2026")  # the social worker of 西坡村
SCRIPT = "<script>window.__pwned=1</script>冬衣<b>"


def file_a_need(base: str, sender: str) -> str:
    replies = []
    for text in ("你好", "1", "1", "我家房子漏雨了", "是", "1", "屋顶漏了两个月，下雨屋里全是水", "2", "西坡村",
                 "13812345678", "1"):
        replies = villager_says(base, sender, text)
    found = re.search(r"XZ-\d{4}-\d{6}", " ".join(r.get("text", "") for r in replies))
    assert found, replies
    return found.group(0)


def test_register_approve_match_confirm_the_villager_told(server, browser, artifacts):
    sender = "offer-villager"
    number = file_a_need(server.base, sender)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = watch_console(page)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    sign_in(page, server.base, *WORKER)

    page.goto(server.base + "/offers/new")
    page.select_option("#offerer_kind", "organisation")
    page.fill("#offerer_name", "县爱心协会")
    page.check("input[name=categories][value=housing]")
    page.fill("#description", SCRIPT)
    page.fill("#quantity", "3")
    page.select_option("#unit", "件")
    page.select_option("#area", label="西坡村")
    page.fill("#contact", "13900001111")
    assert no_sideways_scroll(page)
    page.click("#offer-form button[type=submit]")
    page.wait_for_selector("#action-done")
    assert page.inner_text("#offer-description") == SCRIPT
    assert page.evaluate("window.__pwned") is None
    page.click("#approve-form button[type=submit]")
    page.wait_for_selector("#offer-candidates >> text=" + number)
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "offer-approved-phone.png"), full_page=True)

    page.click(f"#offer-candidates a:has-text('{number}')")
    page.wait_for_selector("#match-candidates .candidate")
    page.click("#match-candidates .propose-form button[type=submit]")
    page.wait_for_selector(".confirm-form")
    page.fill(".confirm-form input[name=when]", "周六上午")
    page.check(".confirm-form input[name=called]")
    page.click(".confirm-form button[type=submit]")
    page.wait_for_selector("#action-done")
    assert "已确认" in page.inner_text("#case-matches")
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "match-confirmed-phone.png"), full_page=True)

    wait_until(lambda: any("县爱心协会" in t and "周六上午" in t for t in villager_inbox(server.base, sender)), 30,
               "the villager told over REST")
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p or "Failed" not in p], problems
    assert missing == []
    context.close()


def case_and_offer(server) -> tuple[str, int]:
    """A villager's 法律 case in 东坡村 and an approved offer of 东坡村 for it, as a finished
    intake and a reviewed offer would have left them: (case number, offer id)."""
    async def run() -> tuple[str, int]:
        from storage import cases as case_service
        from storage import offers as offer_service
        from storage.areas import get_by_code
        from storage.db import Database
        from storage.models import Person

        db = Database(f"sqlite+aiosqlite:///{server.db_path}")
        try:
            async with db.session() as s:
                village = await get_by_code(s, "qingshan.shiqiao.dongpo")
                person = Person(display_name="孙大爷", village_id=village.id, consent_given=True)
                s.add(person)
                await s.flush()
                case = await case_service.open_case(s, person_id=person.id, category="legal",
                                                    description="工钱被拖欠", village_id=village.id)
                offer = await offer_service.create_offer(
                    s, offerer_kind="organisation", offerer_name="县法律援助中心", categories=["legal"],
                    description=SCRIPT, quantity=2, unit="小时", area_id=village.id, contact="13900002222")
                await offer_service.review_offer(s, offer, "approved", staff_id=None, actor="system")
                return case.number, offer.id
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def matches_of(server, number: str) -> list[tuple[int, str, int]]:
    async def run() -> list[tuple[int, str, int]]:
        from sqlalchemy import select

        from storage.db import Database
        from storage.models import Match, NeedRequest

        db = Database(f"sqlite+aiosqlite:///{server.db_path}")
        try:
            async with db.session() as s:
                found = await s.execute(select(Match.offer_id, Match.status, Match.quantity)
                                        .join(NeedRequest, NeedRequest.id == Match.case_id)
                                        .where(NeedRequest.number == number))
                return [tuple(row) for row in found.all()]
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_propose_a_match_from_the_case_page(server, browser, artifacts):
    number, offer_id = case_and_offer(server)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = watch_console(page)
    sign_in(page, server.base, "wangfang", "demo-worker-2026")  # the social worker of 东坡村
    page.goto(f"{server.base}/cases/{number}")
    page.wait_for_selector("#no-matches")
    offer = f'#top-offers .candidate[data-offer-id="{offer_id}"]'
    assert page.inner_text(f"{offer} .offer-text") == SCRIPT  # the offer's markup is text
    assert "13900002222" not in page.inner_text("body")  # the offerer's contact is not on the case page
    assert page.evaluate("window.__pwned") is None
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "case-top-offers-phone.png"), full_page=True)

    page.fill(f"{offer} input[name=quantity]", "2")
    page.click(f"{offer} .propose-form button[type=submit]")
    page.wait_for_selector("#action-done")  # on the match page, where the worker confirms next
    assert f"/cases/{number}/match" in page.url
    assert matches_of(server, number) == [(offer_id, "tentative", 2)]
    page.goto(f"{server.base}/cases/{number}")
    assert "县法律援助中心" in page.inner_text("#case-matches .match") and "待确认" in page.inner_text("#case-matches")
    assert page.locator(offer).count() == 0  # matched already: no longer among the top offers
    assert no_sideways_scroll(page)
    assert [p for p in problems if "Failed to load resource" not in p] == []
    context.close()
