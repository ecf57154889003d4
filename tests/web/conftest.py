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
from pathlib import Path

import pytest

from tests.api.conftest import world  # noqa: F401  (a fixture)
from tests.bot.test_process_pipeline import Server

ROOT = Path(__file__).resolve().parents[2]
XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(os.environ.get("XIANGZHU_TEST_ARTIFACTS", ROOT / "tmp" / "artifacts")) / "web"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("web")
    url = f"sqlite+aiosqlite:///{tmp}/web.db"
    for args in (("db", "upgrade"), ("seed", "--demo")):
        subprocess.run([XIANGZHU, *args], env={**os.environ, "XIANGZHU_DATABASE_URL": url}, check=True,
                       capture_output=True, timeout=180)
    srv = Server(url, tmp, "web", web_poll_seconds="0.3")
    srv.db_path = tmp / "web.db"
    srv.wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def browser():
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
def page(browser):
    return browser.new_page()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
