"""Administration in a real browser against a real `xiangzhu serve` with the demo data, on a
phone-sized screen (375×667, nothing scrolls sideways), under the strict CSP:

- a social worker creates an activity, and a villager asking the bot over REST sees it listed;
  attendance is taken on the phone;
- an admin erases a villager after the confirmation step: the fields are gone in the database;
- an admin adds a hotline, and the emergency reply over REST shows it.

Markup in a title or a villager's name renders as text."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.web.test_inbox_browser import PHONE, no_sideways_scroll, sign_in, villager_says, watch_console

pytestmark = [pytest.mark.slow]

ADMIN = ("admin", "demo-admin-2026")
WORKER = ("chenjie", "demo-worker-2026")  # the social worker of 西坡村
TZ = ZoneInfo("Asia/Shanghai")


def _phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    return context, page, watch_console(page)


def _replies(base: str, sender: str, text: str) -> str:
    return "\n".join(r.get("text", "") for r in villager_says(base, sender, text))


def test_create_an_activity_and_the_bot_lists_it(server, browser, artifacts):
    context, page, problems = _phone(browser)
    sign_in(page, server.base, *WORKER)
    page.click("#nav-activities")
    page.click("#new-activity")
    tomorrow = (datetime.now(TZ) + timedelta(days=1)).replace(hour=7, minute=30)
    page.select_option("#kind", "study_group")
    page.fill("#title", "<b>剪纸</b>兴趣班")
    page.fill("#title_en", "Paper cutting")
    page.fill("#place", "西坡村文化室")
    page.fill("#starts_at", tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#capacity", "12")
    page.select_option("#area", label="西坡村")
    assert no_sideways_scroll(page)
    page.click("#activity-form button[type=submit]")
    page.wait_for_selector("#action-done")
    assert page.inner_text("#activity-title") == "<b>剪纸</b>兴趣班"
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "activity-created-phone.png"), full_page=True)
    page.click("#take-attendance")
    page.wait_for_selector("#attendance-form")
    assert no_sideways_scroll(page)

    sender = "admin-activity-villager"
    _replies(server.base, sender, "你好")
    assert "想看哪类活动" in _replies(server.base, sender, "活动")
    listed = _replies(server.base, sender, "1")  # 1 全部 / all
    assert "<b>剪纸</b>兴趣班" in listed, listed
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p], problems
    context.close()


def test_erase_a_villager_and_the_fields_are_gone(server, browser, artifacts):
    sender = "admin-erase-villager"
    _replies(server.base, sender, "你好")
    name = "<img src=x onerror=window.__pwned=1>擦除大爷"
    with sqlite3.connect(server.db_path, timeout=30) as db:
        person_id = db.execute("SELECT person_id FROM channel_identities WHERE channel = 'rest' AND external_id = ?",
                               (sender,)).fetchone()[0]
        db.execute("UPDATE people SET display_name = ?, phone = '13800009999', village_id = "
                   "(SELECT id FROM areas WHERE level = 'village' LIMIT 1) WHERE id = ?", (name, person_id))
    context, page, problems = _phone(browser)
    sign_in(page, server.base, *ADMIN)
    page.click("#nav-people")
    page.fill("#q", "擦除大爷")
    page.click("#people-search button[type=submit]")
    page.click(f"#people-list [data-person-id='{person_id}'] a")
    page.wait_for_selector("#person-name")
    assert page.inner_text("#person-name") == name and page.evaluate("window.__pwned") is None
    assert no_sideways_scroll(page)
    page.click("#erase-link")
    page.fill("#erase-confirm", "0")
    page.click("#erase-form button[type=submit]")
    page.wait_for_selector("#action-error")
    page.fill("#erase-confirm", str(person_id))
    assert no_sideways_scroll(page)
    page.click("#erase-form button[type=submit]")
    page.wait_for_selector("#person-erased")
    page.screenshot(path=str(artifacts / "person-erased-phone.png"), full_page=True)
    with sqlite3.connect(server.db_path, timeout=30) as db:
        row = db.execute("SELECT display_name, phone, erased FROM people WHERE id = ?", (person_id,)).fetchone()
        texts = [r[0] for r in db.execute("SELECT text FROM messages WHERE person_id = ?", (person_id,))]
        audited = db.execute("SELECT count(*) FROM audit_log WHERE action = 'person.erase' AND target = ?",
                             (f"person:{person_id}",)).fetchone()[0]
    assert row == ("", "", 1) and texts and all(t == "" for t in texts) and audited == 1
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p], problems
    context.close()


def test_add_a_hotline_and_the_emergency_reply_shows_it(server, browser, artifacts):
    context, page, problems = _phone(browser)
    sign_in(page, server.base, *ADMIN)
    page.click("#nav-hotlines")
    page.fill("#new-number", "12349")
    page.fill("#new-label", "养老服务热线")
    page.fill("#new-label-en", "Elder care line")
    page.fill("#new-when", "老人有危险或没人照顾")
    page.fill("#new-when-en", "An elder is in danger or has nobody to care for them")
    for tag in ("danger", "violence", "medical", "rescue", "disaster", "self_harm", "missing"):
        page.check(f"#hotline-add input[name=situations][value={tag}]")
    assert no_sideways_scroll(page)
    page.click("#hotline-add button[type=submit]")
    page.wait_for_selector("#action-done")
    assert page.locator("#hotline-list [data-number='12349']").count() == 1
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "hotline-added-phone.png"), full_page=True)

    sender = "admin-hotline-villager"
    reply = _replies(server.base, sender, "救命！有人要打我")
    assert "12349" in reply, reply  # the emergency reply is the first answer, not a later message
    assert "110" in reply
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p], problems
    context.close()


def test_publish_a_local_override_and_the_bot_answers_with_it(server, browser, artifacts):
    context, page, problems = _phone(browser)
    sign_in(page, server.base, *ADMIN)
    page.click("#nav-knowledge")
    page.click("#policy-list [data-policy-id='dibao'] a")
    page.wait_for_selector("#override-form")
    page.select_option("#override-area", label="东坡村（村）")
    page.fill("#o-what_you_get", "【东坡村】低保每人每月 777 元，按家里收入差额补。")
    page.fill("#o-effective_date", "2026-03-01")
    assert no_sideways_scroll(page)
    page.click("#override-form button[type=submit]")
    page.wait_for_selector("#action-done")
    assert "东坡村" in page.inner_text("#override-list")
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "policy-override-phone.png"), full_page=True)

    page.click("#nav-knowledge")
    page.fill("#ask-q", "低保一个月能领多少钱")
    page.select_option("#ask-village", label="东坡村（村）")
    page.click("#ask-form button[type=submit]")
    page.wait_for_selector("#ask-ranking li")
    assert page.get_attribute("#ask-ranking li:first-child", "data-policy-id") == "dibao"
    assert "777" in page.inner_text("#ask-answer")
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "policy-ask-phone.png"), full_page=True)

    sender = "admin-policy-villager"
    _replies(server.base, sender, "你好")
    with sqlite3.connect(server.db_path, timeout=30) as db:
        db.execute("UPDATE people SET village_id = (SELECT id FROM areas WHERE name = '东坡村') WHERE id = "
                   "(SELECT person_id FROM channel_identities WHERE channel = 'rest' AND external_id = ?)", (sender,))
    answer = _replies(server.base, sender, "低保一个月能领多少钱")
    assert "777" in answer, answer
    other = "admin-policy-elsewhere"
    _replies(server.base, other, "你好")
    with sqlite3.connect(server.db_path, timeout=30) as db:
        db.execute("UPDATE people SET village_id = (SELECT id FROM areas WHERE name = '西坡村') WHERE id = "
                   "(SELECT person_id FROM channel_identities WHERE channel = 'rest' AND external_id = ?)", (other,))
    elsewhere = _replies(server.base, other, "低保一个月能领多少钱")
    assert "低保" in elsewhere and "777" not in elsewhere, elsewhere
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p], problems
    context.close()


def test_create_a_staff_account_and_every_admin_page_fits_a_phone(server, browser, artifacts):
    context, page, problems = _phone(browser)
    sign_in(page, server.base, *ADMIN)
    page.click("#nav-staff")
    page.fill("#new-username", "zhaoli")
    page.fill("#new-display", "社工 赵丽")
    page.check("#staff-new input[name=roles][value=worker]")
    page.select_option("#new-areas", label="·· 西坡村")
    page.fill("#new-start", "09:00")
    page.fill("#new-end", "17:30")
    assert no_sideways_scroll(page)
    page.click("#staff-new button[type=submit]")
    page.wait_for_selector("#action-done")
    assert page.inner_text("#staff-name") == "社工 赵丽"
    page.click("#invite-form button[type=submit]")
    page.wait_for_selector("#invite-code")
    assert no_sideways_scroll(page)
    with sqlite3.connect(server.db_path, timeout=30) as db:
        row = db.execute("SELECT roles, on_duty FROM staff WHERE username = 'zhaoli'").fetchone()
    assert "worker" in row[0] and "17:30" in row[1]
    for path in ("/areas", "/staff", "/hotlines", "/knowledge", "/knowledge/dibao", "/activities", "/people",
                 "/activities/new", "/knowledge/ask?q=%E4%BD%8E%E4%BF%9D"):
        page.goto(server.base + path)
        page.wait_for_selector("main h1")
        assert no_sideways_scroll(page), path
    page.screenshot(path=str(artifacts / "areas-phone.png"), full_page=True)
    assert not [p for p in problems if "Content Security Policy" in p or "dialog" in p], problems
    context.close()
