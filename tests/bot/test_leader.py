"""Leader election: one leader at a time, and a follower takes over within seconds when the
leader dies (kill -9) — candidates are separate processes (tests/bot/leader_candidate.py),
on PostgreSQL (advisory lock) and SQLite (file lock). On PostgreSQL a leader whose lock
connection is terminated steps down and campaigns again.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest

from bot.leader import Leader, current_leader
from storage.db import Database
from tests.support import PG_ADMIN_DSN

CANDIDATE = Path(__file__).with_name("leader_candidate.py")
ROOT = Path(__file__).resolve().parents[2]


class Candidate:
    """A candidate process whose output lines are collected by a reader thread."""

    def __init__(self, url: str):
        self.proc = subprocess.Popen(
            [sys.executable, str(CANDIDATE), url],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.strip())

    def wait_for(self, predicate, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.lines):
            if self.proc.poll() is not None and not predicate(self.lines):
                raise AssertionError(f"candidate exited: {self.lines[-20:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"deadline passed; output: {self.lines[-20:]}")
            time.sleep(0.05)

    def rounds_as_follower(self) -> int:
        return sum(1 for line in self.lines if line.startswith("round") and line.endswith("leader=0"))

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def leader_pid(url: str) -> int | None:
    async def read():
        db = Database(url, pool_size=1)
        try:
            async with db.session() as s:
                record = await current_leader(s)
                return record and record["pid"]
        finally:
            await db.dispose()

    return asyncio.run(read())


@pytest.mark.slow
def test_follower_takes_over_when_leader_is_killed(db_url):
    first = Candidate(db_url)
    second = None
    try:
        first.wait_for(lambda lines: "elected" in lines)
        second = Candidate(db_url)
        # the second has tried several times and stayed a follower
        second.wait_for(lambda lines: second.rounds_as_follower() >= 3)
        assert "elected" not in second.lines
        assert leader_pid(db_url) == first.proc.pid

        first.kill()
        second.wait_for(lambda lines: "elected" in lines, timeout=15)
        deadline = time.monotonic() + 10
        while leader_pid(db_url) != second.proc.pid:
            assert time.monotonic() < deadline, "leader record not updated"
            time.sleep(0.1)
    finally:
        first.kill()
        if second is not None:
            second.kill()


@pytest.mark.postgres
@pytest.mark.parametrize("empty_db_url", ["postgres"], indirect=True)  # the lock connection is PostgreSQL's
async def test_leader_steps_down_when_its_lock_connection_dies_and_comes_back(db_url):
    events: list[str] = []

    async def elected():
        events.append("elected")

    async def deposed():
        events.append("deposed")

    db = Database(db_url)
    leader = Leader(db, on_elected=elected, on_deposed=deposed, retry_seconds=0.2, heartbeat_seconds=0.2)
    await leader.start()
    try:
        await asyncio.wait_for(leader.elected.wait(), 10)
        dbname = db_url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (dbname,),
            ).fetchone()[0]
        assert killed >= 1
        await wait_until(lambda: events[-2:] == ["deposed", "elected"] or events.count("elected") >= 2)
        assert events[:3] == ["elected", "deposed", "elected"]
        async with db.session() as s:
            assert (await current_leader(s))["id"] == leader.identity
    finally:
        await leader.stop()
    async with db.session() as s:  # a clean stop clears the record
        assert await current_leader(s) is None
    await db.dispose()
    assert events[-1] == "deposed"


async def wait_until(predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "deadline passed"
        await asyncio.sleep(0.05)
