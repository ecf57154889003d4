"""Timers: written in the business transaction, claimed by exactly one claimer, run once by
their handler, retried with back-off, handed back after a dead claimer's lease — on SQLite and
PostgreSQL. The scheduler test runs the real APScheduler with a hand-moved clock.

`services` here is a plain namespace with the three things the scheduler reads (db,
settings, clock): the real Database and Settings, no mocks.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.scheduler import SchedulerService, claim_and_run_timers
from storage import kv
from storage import timers as timers_store
from storage.db import Database
from storage.models import KeyValue, Timer
from storage.timers import timer_handler
from tests.support import eventually

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)

fired: list[tuple[str, int]] = []  # (kind, timer id) of every handler run, in order


@timer_handler("test_record")
async def _record(services, session, timer):
    fired.append(("test_record", timer.id))
    # the handler's own write commits together with the timer's "done"
    await kv.put(session, f"fired:{timer.id}", {"target": timer.target})


@timer_handler("test_explode")
async def _explode(services, session, timer):
    fired.append(("test_explode", timer.id))
    await kv.put(session, f"exploded:{timer.id}", {})
    raise RuntimeError("boom")


slow_gate: dict[str, asyncio.Event] = {}


@timer_handler("test_slow")
async def _slow(services, session, timer):
    slow_gate["started"].set()
    await slow_gate["go"].wait()
    await kv.put(session, f"slow:{timer.id}", {})
    fired.append(("test_slow", timer.id))


@pytest.fixture(autouse=True)
def _clear_fired():
    fired.clear()


def make_services(db: Database, now: list[datetime], **settings):
    return SimpleNamespace(db=db, settings=load_settings(**settings), clock=lambda: now[0])


async def count(db: Database, *criteria) -> int:
    async with db.session() as s:
        return (await s.execute(select(func.count()).select_from(Timer).where(*criteria))).scalar_one()


async def test_due_timer_fires_once_and_commits_with_handler(db):
    async with db.session() as s:
        t = await timers_store.schedule(s, "test_record", T0, target="enrollment:7")
        later = await timers_store.schedule(s, "test_record", T0 + timedelta(hours=1))
    services = make_services(db, [T0])

    assert await claim_and_run_timers(services, claimer="a") == 1
    assert await claim_and_run_timers(services, claimer="a") == 0
    assert fired == [("test_record", t.id)]
    async with db.session() as s:
        row = await s.get(Timer, t.id)
        assert (row.state, row.attempts, row.claimed_by) == ("done", 1, "a")
        assert await kv.get(s, f"fired:{t.id}") == {"target": "enrollment:7"}
        assert (await s.get(Timer, later.id)).state == "pending"

    assert await claim_and_run_timers(services, claimer="a", now=T0 + timedelta(hours=1)) == 1
    assert fired == [("test_record", t.id), ("test_record", later.id)]


async def test_timer_in_rolled_back_transaction_never_fires(db):
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            await timers_store.schedule(s, "test_record", T0, dedupe_key="case:1:followup")
            raise RuntimeError("the business action failed")
    assert await count(db) == 0
    assert await claim_and_run_timers(make_services(db, [T0 + timedelta(days=1)]), claimer="a") == 0
    assert fired == []


async def test_dedupe_key_makes_schedule_idempotent(db):
    async with db.session() as s:
        first = await timers_store.schedule(s, "test_record", T0, target="x", dedupe_key="remind:1")
    async with db.session() as s:
        second = await timers_store.schedule(s, "test_record", T0 + timedelta(hours=5), target="y", dedupe_key="remind:1")
    assert second.id == first.id
    assert second.target == "x" and second.due_at == T0
    assert await count(db) == 1


async def test_add_writes_a_timer_without_reading_it_back(db):
    async with db.session() as s:
        await timers_store.add(s, "test_record", T0, target="x", payload={"n": 1}, dedupe_key="remind:2")
        await timers_store.add(s, "test_record", T0 + timedelta(hours=5), target="y", dedupe_key="remind:2")
        await timers_store.add(s, "test_record", T0 + timedelta(hours=1), target="z")  # no key: always added
    async with db.session() as s:
        rows = (await s.execute(select(Timer).order_by(Timer.due_at))).scalars().all()
        assert [(t.target, t.payload, t.state, t.attempts, t.dedupe_key) for t in rows] == [
            ("x", {"n": 1}, "pending", 0, "remind:2"), ("z", {}, "pending", 0, None)]
        assert rows[0].due_at == T0 and rows[0].created_at is not None
    assert await claim_and_run_timers(make_services(db, [T0 + timedelta(hours=2)]), claimer="a") == 2
    assert len(fired) == 2


async def test_add_many_writes_in_order_and_leaves_out_taken_keys(db):
    async with db.session() as s:
        await timers_store.add(s, "test_record", T0, target="first", dedupe_key="k:1")
        await timers_store.add_many(s, [
            timers_store.pending("test_record", T0, target="a", dedupe_key="k:2"),
            timers_store.pending("test_record", T0, target="b", dedupe_key="k:1"),  # taken: left out
            timers_store.pending("test_record", T0, target="c"),
            timers_store.pending("test_record", T0, target="d"),
            timers_store.pending("test_record", T0, target="e", dedupe_key="k:3"),
        ])
    async with db.session() as s:
        rows = (await s.execute(select(Timer).order_by(Timer.id))).scalars().all()
    assert [(t.target, t.dedupe_key, t.state) for t in rows] == [
        ("first", "k:1", "pending"), ("a", "k:2", "pending"), ("c", None, "pending"), ("d", None, "pending"),
        ("e", "k:3", "pending")]
    with pytest.raises(ValueError):
        timers_store.pending("test_record", datetime(2026, 3, 2, 1, 0))  # naive


async def test_cancel_only_pending(db):
    async with db.session() as s:
        a = await timers_store.schedule(s, "test_record", T0, target="handoff:3")
        await timers_store.schedule(s, "test_record", T0, target="handoff:4")
    async with db.session() as s:
        assert await timers_store.cancel(s, target="handoff:3") == 1
        assert await timers_store.cancel(s, target="handoff:3") == 0
    await claim_and_run_timers(make_services(db, [T0]), claimer="a")
    assert len(fired) == 1 and fired[0][1] != a.id
    with pytest.raises(ValueError):
        async with db.session() as s:
            await timers_store.cancel(s)


async def test_two_claimers_each_row_exactly_once(db_url):
    """Two claimers on two separate connections race for 40 due timers, 3 at a time."""
    first, second = Database(db_url), Database(db_url)
    try:
        async with first.session() as s:
            for i in range(40):
                await timers_store.schedule(s, "test_record", T0 - timedelta(seconds=i))
        claims: dict[str, list[int]] = {"a": [], "b": []}

        async def claimer(db: Database, name: str) -> None:
            while True:
                async with db.session() as s:
                    got = await timers_store.claim_due(s, T0, 3, name)
                if not got:
                    return
                claims[name].extend(t.id for t in got)
                await asyncio.sleep(0)

        await asyncio.gather(claimer(first, "a"), claimer(second, "b"))
        all_claims = claims["a"] + claims["b"]
        assert len(all_claims) == 40
        assert len(set(all_claims)) == 40
        assert await count(first, Timer.state == "claimed") == 40
        async with first.session() as s:
            owners = dict((await s.execute(select(Timer.id, Timer.claimed_by))).all())
        assert all(owners[i] == "a" for i in claims["a"]) and all(owners[i] == "b" for i in claims["b"])
    finally:
        await first.dispose()
        await second.dispose()


async def test_two_claimers_same_moment_one_wins(db_url):
    """One due timer, two claimers started together: exactly one gets it."""
    first, second = Database(db_url), Database(db_url)
    try:
        async with first.session() as s:
            await timers_store.schedule(s, "test_record", T0)

        async def claim(db, name):
            async with db.session() as s:
                return [t.id for t in await timers_store.claim_due(s, T0, 10, name)]

        results = await asyncio.gather(claim(first, "a"), claim(second, "b"))
        assert sorted(len(r) for r in results) == [0, 1]
    finally:
        await first.dispose()
        await second.dispose()


async def test_failing_handler_rolls_back_and_retries_then_gives_up(db):
    async with db.session() as s:
        t = await timers_store.schedule(s, "test_explode", T0)
    now = [T0]
    services = make_services(db, now)

    assert await claim_and_run_timers(services, claimer="a") == 0
    async with db.session() as s:
        row = await s.get(Timer, t.id)
        assert row.state == "pending" and row.attempts == 1
        assert "RuntimeError: boom" in row.error
        assert row.due_at > T0  # backed off
        assert await kv.get(s, f"exploded:{t.id}") is None  # the handler's write rolled back
    # not retried before its back-off ends
    assert await claim_and_run_timers(services, claimer="a") == 0
    assert len(fired) == 1

    for _ in range(timers_store.DEFAULT_MAX_ATTEMPTS - 1):
        now[0] += timedelta(days=1)
        await claim_and_run_timers(services, claimer="a")
    assert len(fired) == timers_store.DEFAULT_MAX_ATTEMPTS
    async with db.session() as s:
        row = await s.get(Timer, t.id)
        assert (row.state, row.attempts) == ("failed", timers_store.DEFAULT_MAX_ATTEMPTS)
    now[0] += timedelta(days=30)
    await claim_and_run_timers(services, claimer="a")
    assert len(fired) == timers_store.DEFAULT_MAX_ATTEMPTS


async def test_unknown_kind_is_retried_not_lost(db):
    async with db.session() as s:
        t = await timers_store.schedule(s, "no_such_kind_yet", T0)
    await claim_and_run_timers(make_services(db, [T0]), claimer="a")
    async with db.session() as s:
        row = await s.get(Timer, t.id)
        assert row.state == "pending" and "no handler" in row.error


async def test_dead_claimers_lease_is_handed_back(db):
    async with db.session() as s:
        t = await timers_store.schedule(s, "test_record", T0)
    async with db.session() as s:
        (claimed,) = await timers_store.claim_due(s, T0, 10, "dead-process")
    # the dead process never finishes; within the lease nobody else may run it
    services = make_services(db, [T0 + timedelta(minutes=1)])
    assert await claim_and_run_timers(services, claimer="b") == 0
    services.clock = lambda: T0 + timers_store.DEFAULT_LEASE + timedelta(seconds=1)
    assert await claim_and_run_timers(services, claimer="b") == 1
    assert fired == [("test_record", t.id)]
    async with db.session() as s:  # the late original claimer cannot mark it any more
        assert not await timers_store.mark_done(s, claimed, "dead-process")
        row = await s.get(Timer, t.id)
        assert (row.state, row.claimed_by, row.attempts) == ("done", "b", 2)


async def test_scheduler_runs_due_timers_on_the_moved_clock(db):
    """The real APScheduler polls every 50 ms; time for due-ness is the test's clock."""
    now = [T0]
    services = make_services(db, now, timer_poll_seconds=0.05)
    async with db.session() as s:
        due = await timers_store.schedule(s, "test_record", T0 - timedelta(minutes=1))
        tomorrow = await timers_store.schedule(s, "test_record", T0 + timedelta(days=1))
    sched = SchedulerService(services, retry_seconds=0.2)
    await sched.start()
    try:
        await asyncio.wait_for(sched.leader.elected.wait(), 10)
        assert "timers" in sched.running_jobs
        await eventually(lambda: ("test_record", due.id) in fired)
        assert ("test_record", tomorrow.id) not in fired  # polled at least once: not due yet

        async with db.session() as s:  # scheduled while running
            soon = await timers_store.schedule(s, "test_record", T0 + timedelta(hours=2))
        now[0] = T0 + timedelta(days=1)
        await eventually(lambda: ("test_record", tomorrow.id) in fired and ("test_record", soon.id) in fired)
        assert [f[1] for f in fired].count(due.id) == 1
        async with db.session() as s:
            assert (await s.execute(select(func.count()).select_from(KeyValue).where(KeyValue.key == "leader"))).scalar_one() == 1
    finally:
        await sched.stop()
    assert sched.running_jobs == []


async def test_stop_lets_a_running_job_finish_its_transaction(db):
    """Stopping the scheduler (shutdown, or deposed) while a timer's handler runs: the handler
    finishes and commits; APScheduler's own shutdown would cancel it mid-statement."""
    now = [T0]
    services = make_services(db, now, timer_poll_seconds=0.05)
    slow_gate.update(started=asyncio.Event(), go=asyncio.Event())
    async with db.session() as s:
        slow = await timers_store.schedule(s, "test_slow", T0 - timedelta(minutes=1))
    sched = SchedulerService(services, retry_seconds=0.2)
    await sched.start()
    await asyncio.wait_for(slow_gate["started"].wait(), 10)
    stopping = asyncio.create_task(sched.stop())
    await eventually(lambda: sched.running_jobs == [])  # the scheduler has been told to stop
    slow_gate["go"].set()
    await asyncio.wait_for(stopping, 20)
    assert ("test_slow", slow.id) in fired
    assert await count(db, Timer.id == slow.id, Timer.state == timers_store.DONE) == 1


def test_jobs_list_json_via_cli(db_url):
    async def setup():
        db = Database(db_url)
        async with db.session() as s:
            await timers_store.schedule(s, "activity_reminder", T0, target="enrollment:12", dedupe_key="r12")
            done = await timers_store.schedule(s, "test_record", T0 - timedelta(hours=1))
        async with db.session() as s:
            await timers_store.claim_due(s, T0 - timedelta(minutes=30), 10, "x")
            await timers_store.mark_done(s, done, "x")
        await db.dispose()

    asyncio.run(setup())
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url}
    out = subprocess.run(
        [XIANGZHU, "jobs", "list", "--json"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout
    snap = json.loads(out)
    assert snap["leader"] is None  # no server running
    assert "timers" in [j["id"] for j in snap["periodic"]]
    assert all(j["next_run_at"] for j in snap["periodic"])
    assert [(t["kind"], t["target"], t["state"]) for t in snap["timers"]] == [
        ("activity_reminder", "enrollment:12", "pending")
    ]
    assert datetime.fromisoformat(snap["timers"][0]["due_at"]) == T0

    everything = json.loads(
        subprocess.run([XIANGZHU, "jobs", "list", "--json", "--all"], env=env, capture_output=True, text=True,
                       timeout=60, check=True).stdout
    )
    assert sorted(t["state"] for t in everything["timers"]) == ["done", "pending"]

    text = subprocess.run([XIANGZHU, "jobs", "list"], env=env, capture_output=True, text=True, timeout=60,
                          check=True).stdout
    assert "activity_reminder" in text and "enrollment:12" in text and "2026-03-02 09:00:00" in text
