"""Staff sign-in in a real browser: Debian's Chromium driven by Playwright against a real
`xiangzhu serve` with the demo data (no browser download: executable_path=/usr/bin/chromium)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.test_process_pipeline import Server

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [pytest.mark.slow]
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    url = f"sqlite+aiosqlite:///{tmp}/web.db"
    for args in (("db", "upgrade"), ("seed", "--demo")):
        subprocess.run([XIANGZHU, *args], env={**os.environ, "XIANGZHU_DATABASE_URL": url}, check=True,
                       capture_output=True, timeout=180)
    srv = Server(url, tmp, "web")
    srv.wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def page():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing (make test installs Debian's chromium)")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page()
        browser.close()


def test_sign_in_see_home_sign_out(server, page):
    page.goto(server.base + "/")
    assert "/signin" in page.url  # not signed in: sent to the sign-in page
    page.fill("#username", "wangfang")
    page.fill("#password", "demo-worker-2026")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#role")
    assert "王芳" in page.inner_text("h1") or "wangfang" in page.inner_text("h1")
    assert "东坡村" in page.inner_text("#areas")
    cookie = next(c for c in page.context.cookies() if c["name"] == "xz_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    page.click("#signout-form button[type=submit]")
    page.wait_for_selector("#signin-form")
    page.goto(server.base + "/")
    assert "/signin" in page.url


def test_wrong_password_says_so_in_chinese_and_english(server, page):
    page.goto(server.base + "/signin")
    page.fill("#username", "chenjie")
    page.fill("#password", "not-the-password")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-form")
    body = page.inner_text("body")
    assert "密码" in body
    page.goto(server.base + "/signin?lang=en")
    page.fill("#username", "chenjie")
    page.fill("#password", "still-wrong")
    page.click("#signin-form button[type=submit]")
    page.wait_for_selector("#signin-form")
    assert "password" in page.inner_text("body").lower()
