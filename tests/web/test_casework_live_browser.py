"""Live casework in a real browser (Debian's Chromium through Playwright) against a real
`xiangzhu serve` with the demo data, at phone size: two signed-in browser contexts. While the
worker has a case open, the township's supervisor changes it through the JSON API (the
session's cookie and CSRF header): a referral, a task marked done, a plan item, the stage —
each appears on the worker's page without a reload, the villager-written markup as text, and
what the worker was typing (a plan item draft, an agency's note on a referral) stays. On
/supervise an approval requested through the API appears and disappears when decided through
the API or from another browser. The event stream itself: another village's worker gets none,
and an open stream ends when the case moves out of the worker's villages."""
from __future__ import annotations

import json
import sqlite3

import httpx
import pytest
from playwright.sync_api import expect

from tests.web.test_casework_browser import WORKER, open_case_for
from tests.web.test_inbox_browser import PHONE, no_sideways_scroll, sign_in, villager_says, watch_console

pytestmark = [pytest.mark.slow]

SUPERVISOR = ("liuzhan", "demo-supervisor-2026")  # 石桥镇
ADMIN = ("admin", "demo-admin-2026")
OTHER_VILLAGE = ("chenjie", "demo-worker-2026")  # 西坡村 only
XSS = "<img src=x onerror=window.__pwned=7>"


class Staff:
    """A browser context signed in as one staff member, with their page and the JSON API
    through the same session (cookie + X-CSRF-Token, as the page's own scripts would)."""

    def __init__(self, browser, base: str, username: str, password: str):
        self.base = base
        self.context = browser.new_context(viewport=PHONE)
        self.page = self.context.new_page()
        self.problems = watch_console(self.page)
        self.missing: list[str] = []  # what the page asked for and did not get (the browser's favicon aside)
        self.page.on("response", lambda r: self.missing.append(r.url) if r.status >= 400 and "favicon" not in r.url
                     else None)
        sign_in(self.page, base, username, password)
        self.csrf = self.page.get_attribute('meta[name="csrf-token"]', "content")

    def troubles(self) -> list[str]:
        return self.missing + [p for p in self.problems if "Failed to load resource" not in p]

    def api(self, method: str, path: str, body: dict) -> dict:
        r = self.context.request.fetch(self.base + path, method=method, data=json.dumps(body),
                                       headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf})
        assert r.status in (200, 201, 202), r.text()
        return r.json()

    def cookies(self) -> dict:
        return {c["name"]: c["value"] for c in self.context.cookies()}


def test_changes_through_the_api_appear_on_the_open_case_page(server, browser, artifacts):
    sender = "live-villager-1"
    villager_says(server.base, sender, "你好")
    number = open_case_for(server, sender)
    worker = Staff(browser, server.base, *WORKER)
    sup = Staff(browser, server.base, *SUPERVISOR)
    page = worker.page
    page.goto(server.base + f"/cases/{number}")
    page.wait_for_selector("#timeline")
    page.evaluate("window.__sameDocument = 1")  # a reload would lose it
    page.fill("#plan-what", "草稿：联系村医")  # the worker is typing when the others' changes arrive
    api = f"/api/cases/{number}"

    sup.api("POST", f"{api}/referrals", {"agency": "minzheng", "reason": f"申请临时救助{XSS}"})
    referral = page.locator('#referrals li[data-status="sent"]')
    expect(referral).to_contain_text(f"申请临时救助{XSS}", timeout=15000)  # the markup as text
    note = referral.locator('input[name="note"]')
    note.fill("民政办说下周来人")  # and focused, mid-typing

    made = sup.api("POST", f"{api}/tasks", {"title": "电话回访", "due": "2026-12-01", "assignee": WORKER[0]})
    task = page.locator("#tasks li", has_text="电话回访")
    expect(task).to_be_visible(timeout=15000)
    sup.api("PATCH", f"{api}/tasks/{made['tasks'][0]['id']}", {"done": True})
    expect(task.locator('button[value="0"]')).to_be_visible(timeout=15000)  # done: "not done" is offered
    sup.api("POST", f"{api}/plan", {"what": f"危房改造{XSS}", "agency": "bianmin"})
    expect(page.locator("#plan-items li", has_text="危房改造")).to_contain_text(XSS, timeout=15000)
    sup.api("POST", f"{api}/referrals", {"agency": "canlian", "reason": "残疾证"})
    expect(page.locator("#referrals li")).to_have_count(2, timeout=15000)
    sup.api("POST", f"{api}/stage", {"stage": "assessed"})
    expect(page.locator("#case-stage")).to_have_attribute("data-stage", "assessed", timeout=15000)

    # the referrals list was re-drawn twice around the note being typed: it is still there, focused
    assert page.locator('#referrals li[data-status="sent"]').first.locator('input[name="note"]').input_value() \
        == "民政办说下周来人"
    assert page.evaluate("document.activeElement.name") == "note"
    assert page.input_value("#plan-what") == "草稿：联系村医"
    assert page.evaluate("window.__sameDocument") == 1 and page.evaluate("window.__pwned") is None
    assert no_sideways_scroll(page)
    page.screenshot(path=str(artifacts / "casework-live.png"), full_page=True)

    # the worker's own form still works on the live-drawn parts: the note is sent with the answer
    page.locator('#referrals li[data-status="sent"]').first.locator('button[value="accepted"]').click()
    page.wait_for_selector("#action-done")
    expect(page.locator('#referrals li[data-status="accepted"]')).to_contain_text("民政办说下周来人")
    assert worker.troubles() + sup.troubles() == []


def read_until(lines, wanted: str) -> list[str]:
    """The stream's lines up to and with `wanted` (or to the stream's end)."""
    read = []
    for line in lines:
        read.append(line)
        if line == wanted:
            break
    return read


def test_the_event_stream_keeps_to_the_workers_villages(server, browser):
    sender = "live-villager-2"
    villager_says(server.base, sender, "你好")
    number = open_case_for(server, sender)
    stream = f"{server.base}/cases/{number}/events"
    other = Staff(browser, server.base, *OTHER_VILLAGE)
    r = httpx.get(stream, cookies=other.cookies(), timeout=10)
    assert r.status_code == 404 and "event:" not in r.text
    worker = Staff(browser, server.base, *WORKER)
    with httpx.stream("GET", stream, cookies=worker.cookies(), timeout=30) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        assert read_until(lines, "event: facts")[-1] == "event: facts"  # the first parts arrived
        with sqlite3.connect(server.db_path, timeout=30) as db:  # the case moves to 西坡村
            db.execute("UPDATE need_requests SET village_id = (SELECT id FROM areas WHERE code = ?) "
                       "WHERE number = ?", ("qingshan.shiqiao.xipo", number))
        # the open stream ends: nothing more of the case reaches her
        assert read_until(lines, "event: gone")[-1] == "event: gone"
    assert httpx.get(stream, cookies=worker.cookies(), timeout=10).status_code == 404
    with httpx.stream("GET", stream, cookies=other.cookies(), timeout=30) as r:
        assert r.status_code == 200  # now 西坡村's worker's case


def test_approvals_appear_and_leave_the_open_supervise_page(server, browser):
    sender = "live-villager-3"
    villager_says(server.base, sender, "你好")
    number = open_case_for(server, sender)
    admin = Staff(browser, server.base, *ADMIN)
    toggle = '[data-area-code="qingshan.shiqiao"] > form.approvals-setting'
    admin.page.goto(server.base + "/areas")
    admin.page.click(f'{toggle} button[value="1"]')
    admin.page.wait_for_selector(f'{toggle} [data-approvals="1"]')
    try:
        sup = Staff(browser, server.base, *SUPERVISOR)
        sup.page.goto(server.base + "/supervise")
        sup.page.evaluate("window.__sameDocument = 1")
        worker = Staff(browser, server.base, *WORKER)
        worker.page.goto(server.base + f"/cases/{number}")
        worker.page.wait_for_selector("#timeline")
        items = sup.page.locator("#approval-list li", has_text=number)

        held = worker.api("POST", f"/api/cases/{number}/referrals", {"agency": "minzheng", "reason": f"低保{XSS}"})
        refer_id = next(a["id"] for a in held["approvals"] if a["action"] == "refer")
        item = sup.page.locator(f'#approval-list li[data-approval="{refer_id}"]')
        expect(item).to_contain_text(f"低保{XSS}", timeout=15000)  # arrived, as text
        expect(worker.page.locator(f'#approvals li[data-approval="{refer_id}"]')).to_have_attribute(
            "data-status", "pending", timeout=15000)
        assert no_sideways_scroll(sup.page)

        admin.api("POST", f"/api/cases/{number}/approvals/{refer_id}", {"decision": "approve"})
        expect(item).to_have_count(0, timeout=15000)
        expect(sup.page.locator("#no-approvals")).to_be_visible()
        expect(worker.page.locator('#referrals li[data-status="sent"]')).to_contain_text(f"低保{XSS}", timeout=15000)

        held = worker.api("POST", f"/api/cases/{number}/stage", {"stage": "closed", "outcome": "已解决"})
        close_id = next(a["id"] for a in held["approvals"] if a["action"] == "close")
        expect(items).to_have_count(1, timeout=15000)
        admin.page.goto(server.base + f"/cases/{number}")  # declined from another browser, on the case page
        admin.page.click(f'#approvals li[data-approval="{close_id}"] button[value="decline"]')
        admin.page.wait_for_selector("#action-done")
        expect(items).to_have_count(0, timeout=15000)
        expect(worker.page.locator(f'#approvals li[data-approval="{close_id}"]')).to_have_attribute(
            "data-status", "declined", timeout=15000)
        assert sup.page.evaluate("window.__sameDocument") == 1 and sup.page.evaluate("window.__pwned") is None
        assert sup.troubles() + worker.troubles() + admin.troubles() == []
    finally:  # back to the default for the module's other tests
        admin.page.goto(server.base + "/areas")
        admin.page.click(f'{toggle} button[value="0"]')
        admin.page.wait_for_selector(f'{toggle} [data-approvals="0"]')
