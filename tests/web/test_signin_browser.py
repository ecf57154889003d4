"""Staff sign-in in a real browser: Debian's Chromium driven by Playwright against a real
`xiangzhu serve` with the demo data (fixtures in tests/web/conftest.py)."""
from __future__ import annotations

import pytest

from tests.web.conftest import ARGS, CHROMIUM  # noqa: F401  (the flow editor's browser test imports them from here)

pytestmark = [pytest.mark.slow]


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
