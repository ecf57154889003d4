"""Fixtures of the staff web tests: the API tests' world for page tests through the ASGI app
(tests/api/conftest.py), and for browser tests a real `xiangzhu serve` with the demo data
driven by Debian's Chromium through Playwright (no browser download:
executable_path=/usr/bin/chromium). Screenshots go to tmp/artifacts/web (XIANGZHU_TEST_ARTIFACTS
overrides)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.api.conftest import world  # noqa: F401  (a fixture)
from tests.bot.test_process_pipeline import Server

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("XIANGZHU_TEST_ARTIFACTS", ROOT / "tmp" / "artifacts")) / "web"


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_databases):
    tmp = tmp_path_factory.mktemp("web")
    url = f"sqlite+aiosqlite:///{tmp}/web.db"
    demo_databases.copy_to(tmp / "web.db")
    srv = Server(url, tmp, "web", web_poll_seconds="0.3")
    srv.db_path = tmp / "web.db"
    srv.wait_ready()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def chromium():
    """One Chromium per test module (a launch is seconds here). Module scope, not session: the
    sync Playwright keeps its event loop marked running while it is open, which the async
    tests of other modules could not run beside."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail("Chromium is missing (make test installs Debian's chromium)")
        pytest.skip("Chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def browser(chromium):
    """The module's Chromium; every context and page a test opens is closed after it, so no
    page (nor its live event stream) outlives its test and no cookie reaches the next one."""
    yield chromium
    for context in list(chromium.contexts):
        context.close()


@pytest.fixture
def page(browser):
    return browser.new_page()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
