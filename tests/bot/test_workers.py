"""`xiangzhu serve --workers N`: several worker processes on one port (PostgreSQL), refused on
SQLite, which has one writer."""
from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys

import httpx
import psutil
import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Message
from tests.bot.test_process_pipeline import Server
from tests.support import wait_until


def test_sqlite_refuses_more_than_one_worker(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve", "--workers", "2"],
        env={**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"},
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "SQLite has one writer" in proc.stderr


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("empty_db_url", ["postgres"], indirect=True)
def test_two_workers_share_the_port_and_answer_everyone(db_url, tmp_path):
    server = Server(db_url, tmp_path, "workers", workers="2")
    try:
        server.wait_ready()
        def serving_children():
            kids = [c for c in psutil.Process(server.proc.pid).children()
                    if "multiprocessing.spawn" in " ".join(c.cmdline()) and "resource_tracker" not in " ".join(c.cmdline())]
            return kids if len(kids) == 2 else None

        assert len(wait_until(serving_children, 60, "two worker processes")) == 2

        def send(i: int) -> int:
            r = httpx.post(server.base + "/webhooks/rest/webhook", timeout=30,
                           json={"sender": f"w{i % 10}", "message": "你好", "metadata": {"message_id": f"m{i}"}})
            return r.status_code

        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(send, range(60)))
        assert statuses == [200] * 60

        async def stored() -> int:
            db = Database(db_url)
            try:
                async with db.session() as s:
                    return (await s.execute(select(func.count()).select_from(Message)
                                            .where(Message.direction == "in"))).scalar_one()
            finally:
                await db.dispose()

        import asyncio

        assert asyncio.run(stored()) == 60
        # one of them leads (timers, WeChat token, Telegram polling); each knows who. A follower
        # whose first read came before the leader wrote its record says "none" until its next
        # round (every 2 s), so wait for every answer to name a leader.
        def all_know_the_leader():
            seen = {httpx.get(server.base + "/healthz", timeout=10).json()["leader"] for _ in range(20)}
            return seen if all(v == "self" or v.startswith("other:") for v in seen) else None

        leaders = wait_until(all_know_the_leader, 30, "every worker names the leader", interval=0.5)
        assert "self" in leaders or any(v.startswith("other:") for v in leaders)
    finally:
        server.stop()
    assert server.proc.returncode is not None
    assert "Traceback" not in server.log_path.read_text()
