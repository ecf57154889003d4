"""The flow editor in a real browser (Debian's Chromium driven by Playwright, 375×667) against a
real `xiangzhu serve` with the demo data whose Telegram channel talks to the telegram-test-api
emulator: an admin breaks a flow and sees the error at its line, fixes it, simulates (event
log), publishes; a Telegram user then gets the new text; a rollback brings the old text back.
Screenshots of each page are kept in tests/web/artifacts/ (or $XIANGZHU_ARTIFACTS)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.channels.telegram_emulator import TOKEN, Emulator, EmulatorUser
from tests.support import free_port, wait_until
from tests.web.test_signin_browser import ARGS, CHROMIUM

pytestmark = [pytest.mark.slow]

ARTIFACTS = Path(os.environ.get("XIANGZHU_ARTIFACTS") or Path(__file__).parent / "artifacts")
OLD = "我们只保存帮您办事需要的信息。您可以："
NEW = "新版：我们只保存必要的信息。您可以："


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    emu = Emulator(tmp_path_factory.mktemp("emulator") / "emulator.log")
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def server(emulator, tmp_path_factory, demo_databases):
    import httpx

    home = tmp_path_factory.mktemp("editor")
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{home}/xz.db",
           "XIANGZHU_DATA_DIR": str(home / "data"), "XIANGZHU_MEDIA_DIR": str(home / "media"),
           "XIANGZHU_TELEGRAM_TOKEN": TOKEN, "XIANGZHU_TELEGRAM_BASE_URL": emulator.api_base,
           "XIANGZHU_OUTBOX_POLL_SECONDS": "0.05", "XIANGZHU_TIMEZONE": "Asia/Shanghai"}
    env.pop("XIANGZHU_TELEGRAM_WEBHOOK_URL", None)
    demo_databases.copy_to(home / "xz.db")
    port = free_port()
    log = open(home / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
                            env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def ready():
        assert proc.poll() is None, (home / "serve.log").read_text()[-3000:]
        try:
            return httpx.get(base + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, 120, "server ready")
    yield type("Server", (), {"base": base, "log": home / "serve.log"})
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing (make test installs Debian's chromium)")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # a browser far from the villages: the pages show times in the server's zone all the same
        context = browser.new_context(viewport={"width": 375, "height": 667}, timezone_id="America/New_York")
        pg = context.new_page()
        pg.on("dialog", lambda d: d.accept())
        pg.csp_refusals = []  # the pages run under the strict CSP: Chromium reports each refusal on the console
        pg.on("console", lambda m: pg.csp_refusals.append(m.text) if "Content Security Policy" in m.text else None)
        pg.set_default_timeout(30000)
        yield pg
        browser.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"flow_editor_{name}.png"), full_page=True)


def no_horizontal_scroll(page) -> None:
    page.wait_for_load_state("load")  # stylesheets applied: under load the list can be measured unstyled
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width}px wide at 375px"
    assert page.csp_refusals == [], page.csp_refusals


def set_text(page, text: str) -> None:
    page.evaluate("t => window.flowEditor.dispatch({changes: {from: 0, to: window.flowEditor.state.doc.length, "
                  "insert: t}})", text)


def test_break_fix_simulate_publish_then_telegram_then_rollback(server, emulator, page):
    page.goto(server.base + "/flows")
    assert "script-src 'self';" in page.request.get(server.base + "/flows/privacy").headers["content-security-policy"]
    page.fill("#username", "admin")
    page.fill("#password", "demo-admin-2026")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#flow-list [data-flow=privacy]")
    assert "提醒和隐私" in page.inner_text("[data-flow=privacy]")
    no_horizontal_scroll(page)
    shot(page, "list")

    page.click("[data-flow=privacy] a.flow-title")
    page.wait_for_selector(".cm-editor .cm-lineNumbers")
    page.wait_for_selector("#problems li.info")  # the published flow has no problems
    original = page.evaluate("window.flowEditor.state.doc.toString()")
    assert OLD in original

    # break it: a misspelt step kind → the validator's message at its line, with "did you mean"
    broken = original.replace("  - say:\n", "  - sya:\n", 1)
    line = broken.splitlines().index("  - sya:") + 1
    set_text(page, broken)
    error = page.wait_for_selector(f"#problems li.error[data-line='{line}']")
    assert "是不是想写 'say'" in error.inner_text() and f"第 {line} 行" in error.inner_text()  # in Chinese
    page.wait_for_selector(".cm-lintRange-error")
    page.wait_for_selector(".cm-gutter-lint .cm-lint-marker-error")
    no_horizontal_scroll(page)
    shot(page, "error_at_line")

    # fix it, with the new text
    set_text(page, original.replace(OLD, NEW))
    page.wait_for_selector("#problems li.info")
    assert page.query_selector(".cm-lintRange-error") is None

    # the diagram: clicking the first step selects its line in the editor
    page.locator("#diagram g.node[data-step]").first.click()  # a locator: the diagram is redrawn as the text changes
    selected = page.evaluate("(() => { const v = window.flowEditor; const s = v.state.selection.main; "
                             "return v.state.doc.lineAt(s.from).number; })()")
    assert selected == original.splitlines().index("  - say:") + 1

    # simulate: the draft's new text, then 人工 → the event log shows the handoff that would open
    page.click(".tabs button[data-tab=sim]")
    page.click("#sim-start")
    page.wait_for_selector(f"#chat .bubble.bot >> text={NEW}")
    page.fill("#sim-text", "人工")
    page.click("#sim-send")
    page.locator("#chat .bubble.bot").nth(1).wait_for()  # (wait_for_function would need 'unsafe-eval')
    if page.query_selector("#events li.handoff") is None:  # off duty: the flow asks for a message first
        page.fill("#sim-text", "家里水管坏了，想找社工帮忙")
        page.click("#sim-send")
    page.wait_for_selector("#events li.handoff")
    page.wait_for_selector("#slot-panel[data-flow=human] dt")
    no_horizontal_scroll(page)
    shot(page, "simulator")
    page.click("input[name=sim-channel][value=wechat]")
    page.click("#sim-start")
    page.wait_for_selector("#chat .bubble.wechat >> text=回复数字")

    # publish; a Telegram user then gets the new text
    page.click("#publish")
    page.wait_for_selector("#status.ok >> text=已发布")
    user = EmulatorUser(emulator, chat_id=620001)
    user.command("/privacy")
    assert NEW in user.wait_text(NEW)["text"]

    # history: roll back to version 1; the old text returns
    page.goto(server.base + "/flows/privacy/history")
    page.wait_for_selector("#versions li[data-version='2'].current")
    page.select_option("#diff-a", "1")
    page.select_option("#diff-b", "2")
    page.click("#diff-form button")
    page.wait_for_selector("#diff .add >> text=新版")
    page.click("#versions li[data-version='1'] button.rollback")
    page.wait_for_selector("#versions li[data-version='3'].current")
    assert "rollback v1" in page.inner_text("#publications")
    made = next(v["created_at"] for v in page.request.get(server.base + "/api/flows/privacy/history").json()["versions"]
                if v["version"] == 3)
    made = datetime.fromisoformat(made)
    made = (made if made.tzinfo else made.replace(tzinfo=timezone.utc)).astimezone(ZoneInfo("Asia/Shanghai"))
    assert made.strftime("%Y-%m-%d %H:%M") in page.inner_text("#versions li[data-version='3']")  # local, not UTC
    no_horizontal_scroll(page)
    shot(page, "history")
    user.command("/privacy")
    assert OLD in user.wait_text(OLD)["text"]

    page.goto(server.base + "/flows/privacy?lang=en")
    page.wait_for_selector(".cm-editor")
    assert "Save draft" in page.inner_text(".toolbar")
    page.wait_for_selector("#problems li.info")
    set_text(page, broken)
    error = page.wait_for_selector(f"#problems li.error[data-line='{line}']")  # the English switch: in English
    assert "did you mean 'say'" in error.inner_text() and f"line {line}" in error.inner_text()
    no_horizontal_scroll(page)
    shot(page, "editor_en")
