"""Resource linking in a real browser against a real `xiangzhu serve` with the demo data, on a
phone-sized screen (375×667): a villager files a need over REST; the village's social worker
registers an offer on the web, approves it, finds it a match from the case's page, confirms
it — and the villager receives the news over REST. An offer's text with markup renders as
text; the pages run under the strict CSP without a console error."""
from __future__ import annotations

import re

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
