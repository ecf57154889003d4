"""Broadcasts through the real timer and handler (bot/broadcasts.py) with a hand-moved clock:
rate-limited per channel, each skip reason counted (opted out, erased, no messenger, outside
WeChat's window), delivered / failed from the outbox, in the person's language — on SQLite and
PostgreSQL; and through `xiangzhu broadcast`."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import select, update

import bot.broadcasts  # noqa: F401  registers the handler
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage import broadcasts
from storage.db import Database
from storage.models import Broadcast, ChannelIdentity, OutboxMessage, Person
from tests.storage.helpers import NOW, make_areas, make_person

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))


async def _village(s):
    _, _, v1, v2 = await make_areas(s)
    for ext in ("r1", "r2", "r3"):
        await make_person(s, ext=ext, village_id=v1.id)
    await make_person(s, ext="t1", channel="telegram", village_id=v1.id, locale="en")
    (await make_person(s, ext="out", village_id=v1.id)).opted_out = True
    (await make_person(s, ext="gone", village_id=v1.id)).erased = True
    s.add(Person(display_name="nochan", village_id=v1.id, consent_given=True))
    await make_person(s, ext="wx-new", channel="wechat", village_id=v1.id)
    old = await make_person(s, ext="wx-old", channel="wechat", village_id=v1.id)
    await s.flush()
    await s.execute(update(ChannelIdentity).where(ChannelIdentity.person_id == old.id)
                    .values(last_inbound_at=NOW - timedelta(days=3)))
    await make_person(s, ext="elsewhere", village_id=v2.id)
    return v1


async def test_rate_limited_report_counts_each_skip_reason(db):
    async with db.session() as s:
        await _village(s)
        b, n = await broadcasts.create(s, {"village": "v1"}, {"zh": "明天停水", "en": "No water tomorrow"},
                                       created_by="staff:1", now=NOW)
        assert n == 9  # v2's person is not in the segment
        assert len((await broadcasts.segment_people(s, {"village": "t"}))[0]) == 10  # a township: all below it
    services = SimpleNamespace(db=db, settings=load_settings(broadcast_per_minute=2), clock=lambda: NOW)
    assert await claim_and_run_timers(services, claimer="t", now=NOW) == 1
    async with db.session() as s:
        first = await broadcasts.report(s, b.id)
        rows = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "broadcast")
                                .order_by(OutboxMessage.id))).scalars().all()
    assert first["skipped"] == {"opted_out": 1, "erased": 1, "no_channel": 1, "outside_window": 1}
    assert first["queued"] == 4 and first["pending"] == 1  # rest 2 of 3 (rate 2), telegram 1, wechat 1
    assert {m.recipient: m.text for m in rows}["t1"] == "No water tomorrow"
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(seconds=30)) == 0
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(minutes=1)) == 1
    async with db.session() as s:
        ids = (await s.execute(select(OutboxMessage.id).where(OutboxMessage.kind == "broadcast")
                               .order_by(OutboxMessage.id))).scalars().all()
        await s.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids[:4])).values(status="sent"))
        await s.execute(update(OutboxMessage).where(OutboxMessage.id == ids[4]).values(status="failed"))
    async with db.session() as s:
        final = await broadcasts.report(s, b.id)
        assert (await s.get(Broadcast, b.id)).state == "done"
    assert (final["delivered"], final["failed"], final["queued"], final["pending"], final["total"]) == (4, 1, 0, 0, 9)


async def test_with_a_template_wechat_outside_the_window_is_sent(db):
    async with db.session() as s:
        await _village(s)
        b, _ = await broadcasts.create(s, {"village": "v1"}, {"zh": "通知"}, now=NOW)
    services = SimpleNamespace(db=db, settings=load_settings(wechat_template_id="tmpl"), clock=lambda: NOW)
    await claim_and_run_timers(services, claimer="t", now=NOW)
    async with db.session() as s:
        r = await broadcasts.report(s, b.id)
    assert "outside_window" not in r["skipped"] and r["queued"] == 6


async def test_bad_segments_are_refused(db):
    async with db.session() as s:
        await make_areas(s)
        for segment, words in (({}, "exactly one"), ({"village": "nowhere"}, "no area"),
                               ({"village": "v1", "everyone": True}, "exactly one"), ({"activity": 999}, "no activity")):
            try:
                await broadcasts.create(s, segment, {"zh": "x"}, now=NOW)
            except broadcasts.BroadcastError as exc:
                assert words in str(exc)
            else:
                raise AssertionError(f"{segment} accepted")


def test_cli_send_and_report(db_url):
    async def setup():
        db = Database(db_url)
        async with db.session() as s:
            await _village(s)
        await db.dispose()

    asyncio.run(setup())
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url}
    out = subprocess.run([XIANGZHU, "broadcast", "send", "--village", "v1", "--zh", "明天开会"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "9" in out.stdout, out.stderr
    r = json.loads(subprocess.run([XIANGZHU, "broadcast", "report", "1", "--json"], env=env, capture_output=True,
                                  text=True, timeout=60, check=True).stdout)
    assert (r["total"], r["pending"], r["state"]) == (9, 9, "sending")
    bad = subprocess.run([XIANGZHU, "broadcast", "send", "--zh", "x"], env=env, capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode == 1 and "exactly one" in bad.stderr
