"""Fixtures of the staff web tests: the API tests' world for page tests through the ASGI app
(tests/api/conftest.py), and for browser tests a real `xiangzhu serve` with the demo data
driven by Debian's Chromium through Playwright (no browser download:
executable_path=/usr/bin/chromium). Screenshots go to tmp/artifacts/web (XIANGZHU_TEST_ARTIFACTS
overrides)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import load_settings
from tests.api.conftest import world  # noqa: F401  (a fixture)
from tests.bot.test_process_pipeline import Server

ROOT = Path(__file__).resolve().parents[2]
XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("XIANGZHU_TEST_ARTIFACTS", ROOT / "tmp" / "artifacts")) / "web"


class DemoDatabases:
    """`xiangzhu db upgrade` and `seed --demo` into a SQLite file once per session (once more if
    the day in Asia/Shanghai has turned since: the demo data is dated from today), copied for
    each module's server."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.built: dict[date, Path] = {}

    def copy_to(self, target: Path) -> None:
        today = datetime.now(ZoneInfo(load_settings().timezone)).date()
        if today not in self.built:
            path = self.tmp / f"demo-{today}.db"
            url = f"sqlite+aiosqlite:///{path}"
            for args in (("db", "upgrade"), ("seed", "--demo")):
                subprocess.run([XIANGZHU, *args], env={**os.environ, "XIANGZHU_DATABASE_URL": url}, check=True,
                               capture_output=True, timeout=180)
            self.built[today] = path
        shutil.copyfile(self.built[today], target)


@pytest.fixture(scope="session")
def demo_databases(tmp_path_factory) -> DemoDatabases:
    return DemoDatabases(tmp_path_factory.mktemp("web-demo"))


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
