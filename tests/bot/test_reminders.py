"""Activity reminders and change notices, through the real timer claim and handlers
(bot/reminders.py) with a hand-moved clock: the day-before and two-hours-before reminders in
the person's language, skipped when already past at sign-up, gone when the seat is cancelled,
moved with the activity, deferred over quiet hours (dropped once the activity started), once
per timer across a restart and across two processes — on SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select

import bot.reminders  # noqa: F401  registers the handlers
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage import activities
from storage.db import Database
from storage.models import Activity, Enrollment, OutboxMessage, Person, Timer
from tests.storage.helpers import NOW, make_activity, make_person

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
SH = ZoneInfo("Asia/Shanghai")


def services_for(db, **settings):
    return SimpleNamespace(db=db, settings=load_settings(**settings), clock=lambda: NOW)


async def run_at(services, when, claimer="t") -> int:
    return await claim_and_run_timers(services, claimer=claimer, now=when)


async def sent(db, kind=None) -> list[OutboxMessage]:
    async with db.session() as s:
        q = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            q = q.where(OutboxMessage.kind == kind)
        return list((await s.execute(q)).scalars())


async def test_reminder_day_before_and_two_hours_before_only_to_who_still_comes(db):
    async with db.session() as s:
        act = await make_activity(s, days=3, title="巧娘班")
        stays, leaves, quiet = [await make_person(s, ext=e) for e in ("stays", "leaves", "quiet")]
        await activities.enroll(s, act.id, stays.id, participant_name="小红", now=NOW)
        gone = await activities.enroll(s, act.id, leaves.id, now=NOW)
        await activities.enroll(s, act.id, quiet.id, now=NOW)
        (await s.get(Person, quiet.id)).opted_out = True
    async with db.session() as s:
        await activities.cancel_enrollment(s, gone.enrollment.id, now=NOW)
    services = services_for(db)

    assert await run_at(services, NOW + timedelta(days=1)) == 0
    assert await run_at(services, NOW + timedelta(days=2, minutes=1)) == 2  # stays + the opted-out one (silently)
    assert await run_at(services, NOW + timedelta(days=2, hours=1)) == 0
    day_before = await sent(db, "reminder")
    assert [m.recipient for m in day_before] == ["stays"]
    assert "明天" in day_before[0].text and "小红" in day_before[0].text and "党群活动室" in day_before[0].text
    assert "10:00" in day_before[0].text  # Asia/Shanghai, not UTC

    assert await run_at(services, NOW + timedelta(days=3, hours=-2)) == 2
    both = await sent(db, "reminder")
    assert [m.recipient for m in both] == ["stays", "stays"] and "两小时后" in both[1].text
    async with db.session() as s:
        states = sorted((await s.execute(select(Timer.state))).scalars())
    assert states == ["cancelled", "cancelled", "done", "done", "done", "done"]


async def test_english_and_a_reminder_already_past_at_sign_up_is_skipped(db):
    async with db.session() as s:
        act = await make_activity(s, days=0)
        act.starts_at = NOW + timedelta(hours=5)  # 15:00 in Shanghai: the day-before time has passed
        act.title_en = "Crafts class"
        p = await make_person(s, ext="en1", locale="en")
        await activities.enroll(s, act.id, p.id, now=NOW)
    async with db.session() as s:
        rows = (await s.execute(select(Timer))).scalars().all()
    assert [r.payload["which"] for r in rows] == ["two_hours"]
    assert rows[0].due_at == NOW + timedelta(hours=3)
    assert await run_at(services_for(db), NOW + timedelta(hours=3)) == 1
    (msg,) = await sent(db, "reminder")
    assert msg.text.startswith("Reminder: Crafts class is in two hours") and "15:00" in msg.text


async def test_moved_activity_moves_reminders_and_tells_participants(db):
    async with db.session() as s:
        act = await make_activity(s, days=3, capacity=1)
        a = await make_person(s, ext="a")
        b = await make_person(s, ext="b", locale="en")
        await activities.enroll(s, act.id, a.id, now=NOW)
        await activities.enroll(s, act.id, b.id, now=NOW)  # waitlisted: told, no reminders
    new_start = NOW + timedelta(days=5, hours=4)  # Saturday 14:00 in Shanghai
    async with db.session() as s:
        moved, told = await activities.move_activity(s, act.id, starts_at=new_start, place="村小学", now=NOW)
    assert told == 2
    services = services_for(db)
    assert await run_at(services, NOW) == 2  # the two notices
    notices = await sent(db, "notice")
    assert sorted(m.recipient for m in notices) == ["a", "b"]
    by = {m.recipient: m.text for m in notices}
    assert "改为11月28日（周六）14:00" in by["a"] and "村小学" in by["a"]
    assert "Sat 11-28 14:00" in by["b"] and "村小学" in by["b"]

    # the old times pass without a reminder; the new ones fire
    assert await run_at(services, NOW + timedelta(days=2, hours=23)) == 0
    assert await sent(db, "reminder") == []
    assert await run_at(services, new_start - timedelta(days=1)) == 1
    assert await run_at(services, new_start - timedelta(hours=2)) == 1
    reminders = await sent(db, "reminder")
    assert [m.recipient for m in reminders] == ["a", "a"] and "村小学" in reminders[0].text


async def test_cancelled_activity_tells_everyone_and_drops_reminders(db):
    async with db.session() as s:
        act = await make_activity(s, days=3, capacity=1)
        ids = [(await make_person(s, ext=e)).id for e in ("a", "b")]
        for pid in ids:
            await activities.enroll(s, act.id, pid, now=NOW)
    async with db.session() as s:
        _, told = await activities.cancel_activity(s, act.id, actor="staff:1", now=NOW)
        again = await activities.cancel_activity(s, act.id, now=NOW)
    assert told == 2 and again[1] == 0
    services = services_for(db)
    assert await run_at(services, NOW + timedelta(days=3)) == 2
    assert sorted(m.recipient for m in await sent(db, "notice")) == ["a", "b"]
    assert all("取消了" in m.text for m in await sent(db, "notice"))
    assert await sent(db, "reminder") == []
    async with db.session() as s:
        assert set((await s.execute(select(Enrollment.status))).scalars()) == {"called_off"}
        assert (await s.get(Activity, act.id)).status == "cancelled"


async def test_quiet_hours_defer_to_their_end_or_drop_once_started(db):
    # 2 hours before 08:30 is 06:30 (quiet): deferred to 07:00, still before the start → sent.
    # 2 hours before 06:45 is 04:45 (quiet): at 07:00 it has started → dropped.
    day = (NOW + timedelta(days=3)).astimezone(SH).date()
    async with db.session() as s:
        late = await make_activity(s, title="晨练")
        late.starts_at = datetime.combine(day, datetime.min.time().replace(hour=8, minute=30), tzinfo=SH)
        early = await make_activity(s, title="早市")
        early.starts_at = datetime.combine(day, datetime.min.time().replace(hour=6, minute=45), tzinfo=SH)
        p = await make_person(s, ext="p")
        await activities.enroll(s, late.id, p.id, now=NOW)
        await activities.enroll(s, early.id, p.id, now=NOW)
    services = services_for(db)
    seven = datetime.combine(day, datetime.min.time().replace(hour=7), tzinfo=SH)
    assert await run_at(services, seven + timedelta(hours=-19)) == 2  # noon the day before: day-before ones
    assert len(await sent(db, "reminder")) == 2
    assert await run_at(services, seven - timedelta(minutes=30)) == 2  # 06:30: both 2-hour ones, deferred
    assert [m.text for m in await sent(db, "reminder") if "两小时后" in m.text] == []
    async with db.session() as s:
        deferred = (await s.execute(select(Timer).where(Timer.state == "pending"))).scalars().all()
    assert {t.due_at for t in deferred} == {seven.astimezone(timezone.utc)}
    assert all(t.payload.get("deferred_from") for t in deferred)
    assert await run_at(services, seven) == 2
    two_hours = [m.text for m in await sent(db, "reminder") if "两小时后" in m.text]
    assert len(two_hours) == 1 and "晨练" in two_hours[0]


async def test_quiet_hours_off_sends_at_night(db):
    async with db.session() as s:
        act = await make_activity(s, days=3)
        act.starts_at = act.starts_at.replace(hour=16)  # 00:00 in Shanghai
        p = await make_person(s)
        await activities.enroll(s, act.id, p.id, now=NOW)
    services = services_for(db, quiet_hours="off")
    assert await run_at(services, act.starts_at - timedelta(hours=2)) == 2
    assert len(await sent(db, "reminder")) == 2


async def test_restart_between_scheduling_and_firing_fires_once(db_url):
    first = Database(db_url)
    async with first.session() as s:
        act = await make_activity(s, days=3)
        p = await make_person(s)
        await activities.enroll(s, act.id, p.id, now=NOW)
    # the first process claims the day-before reminder and dies before finishing it
    from storage import timers as timer_store
    async with first.session() as s:
        (claimed,) = await timer_store.claim_due(s, NOW + timedelta(days=2), 10, "dead")
    await first.dispose()

    second = Database(db_url)
    try:
        services = SimpleNamespace(db=second, settings=load_settings(), clock=lambda: NOW)
        assert await run_at(services, NOW + timedelta(days=2, seconds=30), "new") == 0  # lease still held
        assert await run_at(services, NOW + timedelta(days=2, minutes=6), "new") == 1  # handed back, run once
        assert await run_at(services, NOW + timedelta(days=2, minutes=10), "new") == 0
        assert len(await sent(second, "reminder")) == 1
    finally:
        await second.dispose()


async def test_two_processes_fire_each_reminder_exactly_once(db_url):
    setup = Database(db_url)
    async with setup.session() as s:
        act = await make_activity(s, days=3)
        for i in range(12):
            p = await make_person(s, ext=f"p{i}")
            await activities.enroll(s, act.id, p.id, now=NOW)
    await setup.dispose()
    dbs = [Database(db_url), Database(db_url)]
    try:
        procs = [SimpleNamespace(db=d, settings=load_settings(), clock=lambda: NOW) for d in dbs]
        when = NOW + timedelta(days=3, hours=-1)  # both reminders due, the activity not started
        runs = await asyncio.gather(*(claim_and_run_timers(p, claimer=f"proc{i}", now=when, limit=5)
                                      for i, p in enumerate(procs) for _ in range(3)))
        runs2 = await asyncio.gather(*(claim_and_run_timers(p, claimer=f"proc{i}", now=when)
                                       for i, p in enumerate(procs)))
        assert sum(runs) + sum(runs2) == 24
        msgs = await sent(dbs[0], "reminder")
        assert len(msgs) == 24
        assert sorted({m.recipient for m in msgs}) == sorted(f"p{i}" for i in range(12))
    finally:
        for d in dbs:
            await d.dispose()


def test_cli_moves_and_cancels(db_url):
    async def setup():
        db = Database(db_url)
        async with db.session() as s:
            act = await make_activity(s, days=30)  # the CLI runs at the real time
            p = await make_person(s)
            await activities.enroll(s, act.id, p.id, now=NOW)
            return db, act.id

    db, act_id = asyncio.run(setup())
    asyncio.run(db.dispose())
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url}
    out = subprocess.run([XIANGZHU, "activities", "move", str(act_id), "--starts-at", "2030-01-05T14:30",
                          "--place", "新会场"], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "2030-01-05 14:30" in out.stdout and "1" in out.stdout
    bad = subprocess.run([XIANGZHU, "activities", "move", "99999", "--place", "x"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and "not found" in bad.stderr
    out = subprocess.run([XIANGZHU, "activities", "cancel", str(act_id), "--yes"], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr

    async def check():
        db = Database(db_url)
        try:
            async with db.session() as s:
                act = await s.get(Activity, act_id)
                timers = (await s.execute(select(Timer).order_by(Timer.id))).scalars().all()
            return act, timers
        finally:
            await db.dispose()

    act, timers = asyncio.run(check())
    assert act.status == "cancelled" and act.place == "新会场"
    assert act.starts_at == datetime(2030, 1, 5, 6, 30, tzinfo=timezone.utc)
    assert [t.state for t in timers if t.kind == "activity_reminder"] == ["cancelled"] * 4
    assert [t.payload["change"] for t in timers if t.kind == "activity_notice"] == ["moved", "cancelled"]

    snap = json.loads(subprocess.run([XIANGZHU, "jobs", "list", "--json", "--all"], env=env, capture_output=True,
                                     text=True, timeout=60, check=True).stdout)
    kinds = {(t["kind"], t["has_handler"]) for t in snap["timers"]}
    assert {("activity_reminder", True), ("activity_notice", True)} <= kinds
    assert {"timers", "retention"} <= {j["id"] for j in snap["periodic"]}
