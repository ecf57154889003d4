"""The live case list and the home page's live tasks in a real browser (Debian's Chromium
through Playwright) against a real `xiangzhu serve` with the demo data, at phone size. A
worker keeps a filtered case list open: a villager's REST message and the case opened for it
appear in it without a reload, the villager's markup as text; a change of stage made through
the JSON API by the supervisor moves the case out of the filter; a case of another village
never appears. On the worker's home, the open cases' count follows a new case, and a task added through the API with yesterday's date shows
as overdue and leaves when marked done through the API. On an open case page, an offer
approved through the API appears among the best offers while the worker's chosen quantity
survives other parts' swaps, and the worker's own propose form works on it."""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from storage import cases as case_service
from storage.areas import get_by_code
from storage.casework import local_day
from storage.db import Database
from storage.models import ChannelIdentity
from tests.web.test_casework_live_browser import SUPERVISOR, XSS, Staff
from tests.web.test_casework_browser import SCRIPT, WORKER
from tests.web.test_inbox_browser import no_sideways_scroll, villager_says

pytestmark = [pytest.mark.slow]


def open_case_in(server, sender: str, village_code: str, description: str) -> str:
    """The case a finished intake would have opened for the villager, in `village_code`."""
    async def run() -> str:
        db = Database(f"sqlite+aiosqlite:///{server.db_path}")
        try:
            async with db.session() as s:
                person_id = (await s.execute(select(ChannelIdentity.person_id).where(
                    ChannelIdentity.channel == "rest", ChannelIdentity.external_id == sender))).scalar_one()
                village = await get_by_code(s, village_code)
                case = await case_service.open_case(s, person_id=person_id, category="housing",
                                                    description=description, village_id=village.id)
                return case.number
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_the_open_filtered_case_list_follows_new_and_changed_cases(server, browser, artifacts):
    worker = Staff(browser, server.base, *WORKER)
    sup = Staff(browser, server.base, *SUPERVISOR)
    page = worker.page
    page.goto(server.base + "/cases?stage=received&category=housing")
    page.wait_for_selector("#case-list-box")
    page.evaluate("window.__sameDocument = 1")  # a reload would lose it
    page.fill("#view-name", "新的住房个案")  # the worker is naming a view when the list changes

    villager_says(server.base, "list-villager-far", "你好")
    far = open_case_in(server, "list-villager-far", "qingshan.shiqiao.xipo", "西坡村的个案")  # not her village
    villager_says(server.base, "list-villager-1", "你好")
    number = open_case_in(server, "list-villager-1", "qingshan.shiqiao.dongpo", SCRIPT)
    row = page.locator(f'#case-list li[data-number="{number}"]')
    expect(row).to_contain_text("家里屋顶漏雨", timeout=15000)
    expect(row.locator(".row-summary")).to_contain_text("<script>")  # the markup as text
    assert page.locator(f'[data-number="{far}"]').count() == 0  # drawn after it existed, without it
    assert page.input_value("#view-name") == "新的住房个案" and page.input_value("#f-stage") == "received"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "case-list-live.png"), full_page=True)

    sup.api("PATCH", f"/api/cases/{number}", {"assignee": WORKER[0]})
    expect(row.locator(".row-meta")).to_contain_text("王芳", timeout=15000)
    sup.api("POST", f"/api/cases/{number}/stage", {"stage": "assessed"})
    expect(row).to_have_count(0, timeout=15000)  # no longer "received": out of the filter
    assert page.url.endswith("/cases?stage=received&category=housing")
    assert page.evaluate("window.__sameDocument") == 1 and page.evaluate("window.__pwned") is None
    assert page.locator(f'[data-number="{far}"]').count() == 0
    assert worker.troubles() + sup.troubles() == []


def test_a_task_done_through_the_api_leaves_the_homes_overdue_list(server, browser):
    villager_says(server.base, "home-villager-1", "你好")
    number = open_case_in(server, "home-villager-1", "qingshan.shiqiao.dongpo", "想申请低保")
    worker = Staff(browser, server.base, *WORKER)
    sup = Staff(browser, server.base, *SUPERVISOR)
    page = worker.page
    page.goto(server.base + "/")
    page.wait_for_selector("#casework-box")
    page.evaluate("window.__sameDocument = 1")

    yesterday = local_day(datetime.now(timezone.utc)) - timedelta(days=1)
    made = sup.api("POST", f"/api/cases/{number}/tasks",
                   {"title": f"家访{XSS}", "due": yesterday.isoformat(), "assignee": WORKER[0]})
    task_id = next(t["id"] for t in made["tasks"] if t["title"].startswith("家访"))
    task = page.locator(f'#overdue-tasks li[data-task="{task_id}"]')
    expect(task).to_contain_text(f"家访{XSS}", timeout=15000)  # overdue, the markup as text
    overdue = int(page.inner_text("#need-overdue"))
    assert overdue >= 1
    assert no_sideways_scroll(page)

    sup.api("PATCH", f"/api/cases/{number}/tasks/{task_id}", {"done": True})
    expect(task).to_have_count(0, timeout=15000)
    expect(page.locator("#need-overdue")).to_have_text(str(overdue - 1))

    cases = int(page.inner_text("#count-cases"))  # the open counts follow too
    villager_says(server.base, "home-villager-2", "你好")
    open_case_in(server, "home-villager-2", "qingshan.shiqiao.dongpo", "想修房子")
    expect(page.locator("#count-cases")).to_have_text(str(cases + 1), timeout=15000)
    assert page.evaluate("window.__sameDocument") == 1 and page.evaluate("window.__pwned") is None
    assert worker.troubles() + sup.troubles() == []


def test_an_offer_and_a_match_appear_in_the_open_case_pages_matching_part(server, browser):
    villager_says(server.base, "match-villager-1", "你好")
    number = open_case_in(server, "match-villager-1", "qingshan.shiqiao.dongpo", "屋顶漏雨")
    worker = Staff(browser, server.base, *WORKER)
    sup = Staff(browser, server.base, *SUPERVISOR)
    page = worker.page
    page.goto(server.base + f"/cases/{number}")
    page.wait_for_selector("#matching-box")
    page.evaluate("window.__sameDocument = 1")

    offer = sup.api("POST", "/api/offers", {"offerer_kind": "team", "offerer_name": f"修房队{XSS}",
                                            "categories": ["housing"], "quantity": 5, "area": "qingshan.shiqiao"})
    sup.api("POST", f"/api/offers/{offer['id']}/approve", {})
    candidate = page.locator(f'#top-offers li[data-offer-id="{offer["id"]}"]')
    expect(candidate).to_contain_text(f"修房队{XSS}", timeout=15000)  # the markup as text
    candidate.locator('input[name="quantity"]').fill("2")  # the worker is choosing how many

    sup.api("POST", f"/api/cases/{number}/tasks", {"title": "电话回访", "due": "2026-12-31"})  # another part changes
    expect(page.locator("#tasks li", has_text="电话回访")).to_be_visible(timeout=15000)
    assert candidate.locator('input[name="quantity"]').input_value() == "2"
    candidate.locator('button[type="submit"]').click()  # proposes with the worker's own session
    page.wait_for_selector("#action-done")  # on the match page
    expect(page.locator("#case-matches li.match")).to_contain_text("修房队")
    found = sup.context.request.get(server.base + f"/api/cases/{number}/matches").json()["matches"]
    assert [(m["offer_id"], m["quantity"], m["status"]) for m in found] == [(offer["id"], 2, "tentative")]
    assert page.evaluate("window.__pwned") is None and no_sideways_scroll(page)
    assert worker.troubles() + sup.troubles() == []
