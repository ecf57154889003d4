"""The dashboard in a real browser (Debian's Chromium through Playwright) against a real
`xiangzhu serve` with the demo data, at phone size (375×667): a villager whose name carries
`<script>` and `<img onerror>` reports a need; the admin signs in, opens the dashboard and sees
the needs chart drawn by ECharts (its canvas) with the figures in its table; the chart's CSV
link downloads a file that parses back with the Chinese intact, as does the record export of
cases (with the name as plain text); the admin's read of the villager and the export are on
the audit log page, where the name shows as text. No page scrolls sideways, no script runs
from the name, and there are no CSP violations or console errors."""
from __future__ import annotations

import asyncio
import csv
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from storage import cases as case_service
from storage.areas import get_by_code
from storage.db import Database
from storage.models import ChannelIdentity
from tests.web.test_inbox_browser import PHONE, name_villager, no_sideways_scroll, sign_in, villager_says, watch_console

pytestmark = [pytest.mark.slow]

ADMIN = ("admin", "demo-admin-2026")
NAME = "<script>window.__pwned=1</script><img src=x onerror=window.__pwned=2>赵大妈"


def open_case_for(server, sender: str) -> tuple[int, str]:
    """The villager's need as a finished intake would have opened it (in 东坡村): (person id, case number)."""
    async def run() -> tuple[int, str]:
        db = Database(f"sqlite+aiosqlite:///{server.db_path}")
        try:
            async with db.session() as s:
                person_id = (await s.execute(select(ChannelIdentity.person_id).where(
                    ChannelIdentity.channel == "rest", ChannelIdentity.external_id == sender))).scalar_one()
                village = await get_by_code(s, "qingshan.shiqiao.dongpo")
                case = await case_service.open_case(s, person_id=person_id, category="disaster",
                                                    description="房子被水冲了", village_id=village.id)
                return person_id, case.number
        finally:
            await db.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def read_csv(path) -> list[dict]:
    raw = open(path, "rb").read()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel's sign for UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_dashboard_chart_csv_and_audit_log_in_the_browser(server, browser, artifacts):
    sender = "dash-villager-1"
    villager_says(server.base, sender, "你好")
    name_villager(server, sender, NAME)
    person_id, number = open_case_for(server, sender)

    page = browser.new_page(viewport=PHONE, accept_downloads=True)
    problems = watch_console(page)
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    sign_in(page, server.base, *ADMIN)
    page.click("#nav-dashboard")
    page.wait_for_selector('#chart-needs[data-drawn="1"] canvas')
    page.wait_for_selector('#chart-case_age[data-drawn="1"] canvas')
    size = page.evaluate("(() => { const c = document.querySelector('#chart-needs canvas');"
                         " return [c.width, c.height]; })()")
    assert size[0] > 100 and size[1] > 100  # drawn at the phone's width
    table = page.inner_text("#table-needs")
    assert "受灾" in table and "东坡村" in table
    disaster_row = [line for line in table.splitlines() if "受灾" in line and "东坡村" in line]
    assert disaster_row and disaster_row[0].split("\t")[-1].strip() == "1"
    assert no_sideways_scroll(page)
    page.hover("#chart-needs canvas")  # the tooltip is drawn too, without a CSP violation
    page.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)

    with page.expect_download() as download:
        page.click("#csv-needs")
    rows = read_csv(download.value.path())
    assert any(r["类别 category"] == "受灾" and r["村 village"] == "东坡村" and r["个案数 cases"] == "1" for r in rows)

    with page.expect_download() as download:
        page.click("#export-cases")
    cases = read_csv(download.value.path())
    ours = [r for r in cases if r["个案号 case"] == number]
    assert ours and ours[0]["姓名 name"] == NAME and ours[0]["情况 description"] == "房子被水冲了"

    page.goto(f"{server.base}/api/people/{person_id}")  # an audited read of the villager
    page.goto(f"{server.base}/audit")
    page.fill("#a-subject", f"person:{person_id}")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_selector('#audit-entries tr[data-action="person.read"]')
    assert page.inner_text('#audit-entries tr[data-action="person.read"] .person-name') == NAME
    assert page.evaluate("window.__pwned") is None
    assert no_sideways_scroll(page)
    page.fill("#a-subject", "")
    page.fill("#a-action", "export")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_selector('#audit-entries tr[data-action="export.cases"]')
    page.screenshot(path=str(artifacts / "audit-phone.png"), full_page=True)
    assert page.evaluate("window.__pwned") is None
    # a failed load other than the browser's own /favicon.ico would be in `missing`
    assert [p for p in problems if "Failed to load resource" not in p] == [] and missing == [], (problems, missing)
