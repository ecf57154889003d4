"""The web inbox in a real browser against a real `xiangzhu serve` with the demo data: a
villager asks for a social worker over REST, the handoff appears in the open queue page
without a reload (server-sent events), the township supervisor claims it, replies — and the
villager receives the reply over REST — and closes it. Also at 375×667 (a phone): no page
scrolls sideways. A villager's name with markup renders as text. Screenshots are kept as
test artifacts (tests/web/conftest.py)."""
from __future__ import annotations

import sqlite3
import uuid

import httpx
import pytest

from tests.support import wait_until

pytestmark = [pytest.mark.slow]

SUPERVISOR = ("liuzhan", "demo-supervisor-2026")  # the township's supervisor: sees handoffs with no village yet
SCRIPT_NAME = "<script>window.__pwned=1</script>李<b>大娘"
PHONE = {"width": 375, "height": 667}


def sign_in(page, base: str, username: str, password: str) -> None:
    page.goto(base + "/signin")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#role")


def villager_says(base: str, sender: str, text: str) -> list[dict]:
    r = httpx.post(base + "/webhooks/rest/webhook", json={"sender": sender, "message": text,
                                                         "metadata": {"message_id": uuid.uuid4().hex}}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def ask_for_a_worker(base: str, sender: str) -> None:
    """In office hours the first message opens the handoff; out of hours the bot first asks
    for a message, and the second one opens it. Either way a handoff is waiting after both."""
    villager_says(base, sender, "我想找社工")
    villager_says(base, sender, "家里屋顶漏雨了，想请人帮忙看看")


def villager_inbox(base: str, sender: str) -> list[str]:
    r = httpx.get(base + "/webhooks/rest/outbox", params={"sender": sender, "after": "0"}, timeout=10)
    assert r.status_code == 200, r.text
    return [m.get("text", "") for m in r.json()["messages"]]


def name_villager(server, sender: str, name: str) -> None:
    """The name a messenger would have given (REST carries none): written into the people row."""
    with sqlite3.connect(server.db_path, timeout=30) as db:
        person_id = db.execute("SELECT person_id FROM channel_identities WHERE channel = 'rest' AND external_id = ?",
                               (sender,)).fetchone()[0]
        db.execute("UPDATE people SET display_name = ? WHERE id = ?", (name, person_id))


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("dialog", lambda d: (problems.append("dialog: " + d.message), d.dismiss()))
    return problems


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desk", "phone"])
def test_new_handoff_appears_live_then_claim_reply_close(server, browser, artifacts, viewport):
    context = browser.new_context(viewport=viewport, is_mobile=True, has_touch=True) if viewport else (
        browser.new_context())
    page = context.new_page()
    label = "phone" if viewport else "desk"
    problems = watch_console(page)
    sign_in(page, server.base, *SUPERVISOR)
    page.goto(server.base + "/queue")
    page.wait_for_selector("#queue")
    page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
    before = page.eval_on_selector_all("#queue li.row", "rows => rows.map(r => r.dataset.id)")

    sender = f"browser-villager-{label}"
    ask_for_a_worker(server.base, sender)
    name_villager(server, sender, SCRIPT_NAME)

    new_id = page.wait_for_function(
        """(before) => { const r = [...document.querySelectorAll('#queue li.row')]
                          .find(r => !before.includes(r.dataset.id));
                         return r && r.querySelector('.name').textContent.includes('大娘') && r.dataset.id; }""",
        arg=before, timeout=20_000).json_value()
    row = page.locator(f'#queue li.row[data-id="{new_id}"]')
    assert row.locator(".name").inner_text() == SCRIPT_NAME
    assert page.evaluate("window.__sameDocument") is True  # arrived without a reload
    assert page.locator("#queue script, #queue b").count() == 0  # the name is text, not markup
    assert page.evaluate("window.__pwned") is None
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / f"{label}-queue-live.png"), full_page=True)

    row.locator("a").click()
    page.wait_for_selector("#claim-form")
    assert page.inner_text("#person-name") == SCRIPT_NAME
    assert "屋顶漏雨" in page.inner_text("#history")
    page.click("#claim-form button[type=submit]")
    page.wait_for_selector("#reply-form")

    reply = f"您好，我是刘站长，马上帮您联系（{uuid.uuid4().hex[:6]}）。"
    page.fill("#reply-text", reply)
    page.click("#reply-form button[type=submit]")
    page.wait_for_selector("#action-done")
    wait_until(lambda: reply in "\n".join(villager_inbox(server.base, sender)), 20,
               "the villager receives the reply over REST, signed with the worker's name")
    page.wait_for_selector(f"#history .msg.staff >> text={reply}")

    # the villager answers; the worker sees it without reloading
    page.evaluate("window.__sameDocument = true")
    villager_says(server.base, sender, "谢谢，我在家等着")
    page.wait_for_selector("#history .msg.in >> text=谢谢，我在家等着", timeout=20_000)
    assert page.evaluate("window.__sameDocument") is True
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / f"{label}-conversation.png"), full_page=True)

    page.fill("#outcome-text", "已联系村委会上门修屋顶")
    page.click("#close-form button[type=submit]")
    page.wait_for_selector("#closed-note")
    assert "已联系村委会上门修屋顶" in page.inner_text("#closed-note")
    wait_until(lambda: any("结束" in t for t in villager_inbox(server.base, sender)), 20,
               "the villager is told the conversation ended")
    assert page.evaluate("window.__pwned") is None
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p], problems
    context.close()


def test_phone_sized_pages_do_not_scroll_sideways(server, browser, artifacts):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    problems = watch_console(page)
    sender = f"phone-villager-{uuid.uuid4().hex[:6]}"
    ask_for_a_worker(server.base, sender)
    name_villager(server, sender, "张" * 40 + SCRIPT_NAME)  # a long name must wrap, not widen the page

    sign_in(page, server.base, *SUPERVISOR)
    page.goto(server.base + "/queue")
    page.wait_for_selector("#queue li.row")
    handoff_path = page.locator("#queue li.row a").first.get_attribute("href")
    for name, path in (("home", "/"), ("queue", "/queue"), ("conversation", handoff_path),
                       ("answers", "/answers"), ("supervise", "/supervise"), ("queue-en", "/queue?lang=en")):
        page.goto(server.base + path)
        page.wait_for_load_state("load")
        page.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=True)
        assert no_sideways_scroll(page), f"{path} scrolls sideways at 375 px"
    page.goto(server.base + "/signin")
    assert no_sideways_scroll(page)
    assert page.evaluate("window.__pwned") is None
    assert not [p for p in problems if "Content Security Policy" in p], problems
    context.close()
