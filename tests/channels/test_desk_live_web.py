"""What a worker does from the messenger reaches open staff web pages live (bot/web/live.py),
in-process: the ASGI app with its lifespan, Telegram through our getUpdates loop against the
fake Bot API. With 石桥镇's approvals on, the worker's `/task N done`, `/flag N …` and
`/refer N …` appear on the case page's event stream; the referral's approval appears on the
supervisor's /supervise stream and leaves it when they `/approve K` from their phone, and the
referral then shows on the case page. A worker of another township gets no stream of the
case. SQLite and PostgreSQL."""
from __future__ import annotations

import sys
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).parent))
from test_desk_approvals import add_supervisor  # noqa: E402
from test_desk_casework import TelegramWorker, rows, seed  # noqa: E402
from wechat_fake import make_services, running  # noqa: E402

from bot.authz import SESSION_COOKIE  # noqa: E402
from bot.web import live  # noqa: E402
from storage import staff_access  # noqa: E402
from storage.models import CaseApproval, Staff  # noqa: E402
from tests.web.test_casework_live_pages import parts  # noqa: E402


@asynccontextmanager
async def web_session(services, app, username: str):
    """A browser-like client of the staff web, signed in as `username`."""
    async with services.db.session() as s:
        staff = (await s.execute(select(Staff).where(Staff.username == username))).scalar_one()
        new = await staff_access.create_session(s, staff)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        c.cookies.set(SESSION_COOKIE, new.cookie)
        yield c


async def test_messenger_changes_reach_the_case_page_and_supervise(db, wx, tg, tmp_path, monkeypatch):
    services = make_services(db, wx, tmp_path, handler=None, telegram_token=tg.token,
                             telegram_base_url=tg.base_url, data_dir=tmp_path / "data")
    services.settings.web_poll_seconds = 0.1
    monkeypatch.setattr(live, "LIFETIME", 0.5)  # a stream ends by itself, so the test reads it whole
    async with running(services) as client:
        ids = await seed(services, channel="telegram", sender="5001")
        await add_supervisor(services, channel="telegram", sender="5002")
        worker, sup = TelegramWorker(tg, 5001), TelegramWorker(tg, 5002)
        mine = ids["mine"]
        stream = f"/cases/{mine['case']}/events"
        async with web_session(services, client.app, "wangfang") as page, \
                web_session(services, client.app, "sunming") as sup_page, \
                web_session(services, client.app, "zhaoli") as other:
            before = parts((await page.get(stream)).text)
            assert f'/tasks/{mine["task"]}"' in before["tasks"] and 'value="1"' in before["tasks"]  # not done yet
            assert 'id="no-flags"' in before["flags"] and "<li" not in before["referrals"]
            assert 'id="no-approvals"' in parts((await sup_page.get("/supervise/events")).text)["approvals"]

            assert "已完成" in await worker.say(f"/task {mine['task']} done")
            await worker.say(f"/flag {mine['short']} <img src=x onerror=alert(1)>因病")
            assert "已提交镇上主管审批" in await worker.say(f"/refer {mine['short']} 1 低保停发")
            [approval] = await rows(services, CaseApproval)

            now = parts((await page.get(stream)).text)
            assert 'value="0"' in now["tasks"] and "完成于" in now["tasks"]  # done, from the phone
            assert "&lt;img src=x onerror=alert(1)&gt;因病" in now["flags"] and "<img" not in now["flags"]
            assert f'data-approval="{approval.id}"' in now["approvals"] and "低保停发" in now["approvals"]
            assert "approval-decide" not in now["approvals"]  # a worker sees it, cannot decide
            waiting = parts((await sup_page.get("/supervise/events")).text)["approvals"]
            assert f'data-approval="{approval.id}"' in waiting and mine["case"] in waiting
            refused = await other.get(stream)  # 西坡村's worker: no stream of 东坡村's case
            assert refused.status_code == 404 and "event:" not in refused.text

            assert f"审批 {approval.id} 已同意" in await sup.say(f"/approve {approval.id}")
            gone = parts((await sup_page.get("/supervise/events")).text)["approvals"]
            assert f'data-approval="{approval.id}"' not in gone and 'id="no-approvals"' in gone
            after = parts((await page.get(stream)).text)
            assert 'data-status="sent"' in after["referrals"] and "低保停发" in after["referrals"]
            assert 'data-status="approved"' in after["approvals"]

