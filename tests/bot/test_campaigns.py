"""Campaigns as data: the YAML is checked with line numbers; adding schedules a row per
(person, anchor) ahead; editing cancels and rewrites every pending row; pausing cancels; the
handler sends in the person's language and keeps exclusions — through the real timers with a
hand-moved clock on SQLite and PostgreSQL, and through `xiangzhu campaigns`."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.scheduler import load_job_modules
from bot.campaigns import schedule_campaigns
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from flows.campaigns import parse_campaign
from storage import campaigns, cases, handoffs
from storage.db import Database
from storage.models import OutboxMessage, Timer
from tests.storage.helpers import NOW, make_areas, make_person

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
load_job_modules()  # every handler: closing a case also writes its follow-up
SH = ZoneInfo("Asia/Shanghai")
TZ = "Asia/Shanghai"

AFTER_CLOSE = """\
name: 结案后回访
segment: {village: v1}
anchor: case_close
offset: 3 days after
delivery_hour: 9
action:
  text: {zh: 最近还好吗？, en: How are you doing?}
exclude: [in_handoff]
"""


def test_errors_have_line_numbers():
    bad = """\
name: x
segment: {villag: v1}
anchor: case_closed
offset: soon
delivery_hour: 25
action:
  flow: Check-In!
exclude: [in_flo]
colour: red
"""
    spec, errors = parse_campaign(bad, "bad.yaml")
    assert spec is None
    text = "\n".join(map(str, errors))
    assert "bad.yaml:2:" in text and "did you mean 'village'" in text
    assert "bad.yaml:3:" in text and "did you mean 'case_close'" in text
    assert "bad.yaml:4:" in text and "'2 days before'" in text
    assert "bad.yaml:5:" in text and "bad.yaml:7:" in text and "bad.yaml:8:" in text
    assert "bad.yaml:9:" in text and "unknown key 'colour'" in text
    assert parse_campaign("name: [", "x.yaml")[1][0].line == 1
    spec, errors = parse_campaign(AFTER_CLOSE)
    assert errors == [] and spec["offset_seconds"] == 3 * 86400
    assert spec["exclude"] == ["erased", "in_handoff", "opted_out"]


async def _closed_cases(s):
    _, _, v1, v2 = await make_areas(s)
    people = {}
    for ext, village, locale in (("zh1", v1, "zh"), ("en1", v1, "en"), ("busy", v1, "zh"), ("far", v2, "zh")):
        p = await make_person(s, ext=ext, village_id=village.id, locale=locale)
        c = await cases.open_case(s, person_id=p.id, category="housing", village_id=village.id, now=NOW)
        await cases.set_case_status(s, c, "closed", now=NOW, notify=False)
        people[ext] = p
    await handoffs.open_handoff(s, people["busy"].id, summary="想找社工", now=NOW)
    return people


async def test_add_edit_reschedules_pause_and_send(db):
    spec, _ = parse_campaign(AFTER_CLOSE)
    async with db.session() as s:
        await _closed_cases(s)
        campaign, rows = await campaigns.add(s, AFTER_CLOSE, spec, tz=TZ, by="staff:1", now=NOW)
    assert rows == 3  # v1's three people; v2 is outside the segment
    nine = datetime(2026, 11, 26, 9, 0, tzinfo=SH)  # 3 days after Monday 10:00, at 09:00
    async with db.session() as s:
        due = set((await s.execute(select(Timer.due_at).where(Timer.kind == "campaign"))).scalars())
    assert due == {nine}

    edited = AFTER_CLOSE.replace("3 days after", "1 week after").replace("delivery_hour: 9", "delivery_hour: 15")
    spec2, _ = parse_campaign(edited)
    async with db.session() as s:
        _, cancelled, rows2 = await campaigns.edit(s, campaign.id, edited, spec2, tz=TZ, now=NOW)
        states = (await s.execute(select(Timer.state, Timer.due_at).where(Timer.kind == "campaign"))).all()
    assert (cancelled, rows2) == (3, 3)
    assert sorted({(st, d) for st, d in states}) == [("cancelled", nine),
                                                     ("pending", datetime(2026, 11, 30, 15, 0, tzinfo=SH))]

    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    await claim_and_run_timers(services, claimer="t", now=nine)  # (the cases' own follow-ups get planned)
    async with db.session() as s:  # the old rows never fire
        assert (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "campaign"))).scalars().all() == []
    await claim_and_run_timers(services, claimer="t", now=datetime(2026, 11, 30, 15, 0, tzinfo=SH))
    async with db.session() as s:
        sent = {m.recipient: m.text for m in (await s.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "campaign"))).scalars()}
    assert sent == {"zh1": "最近还好吗？", "en1": "How are you doing?"}  # "busy" is in a handoff

    async with db.session() as s:
        _, n = await campaigns.set_state(s, campaign.id, "paused", tz=TZ, now=NOW)
        assert n == 0  # nothing pending any more
    await schedule_campaigns(services)  # the job leaves a paused campaign alone
    async with db.session() as s:
        assert await campaigns.pending_count(s, campaign.id) == 0


async def test_new_anchor_is_picked_up_by_the_job_and_a_reopened_case_is_not_asked(db):
    spec, _ = parse_campaign(AFTER_CLOSE)
    async with db.session() as s:
        _, _, v1, _ = await make_areas(s)
        campaign, rows = await campaigns.add(s, AFTER_CLOSE, spec, tz=TZ, now=NOW)
        assert rows == 0
        p = await make_person(s, ext="late", village_id=v1.id)
        c = await cases.open_case(s, person_id=p.id, category="housing", village_id=v1.id, now=NOW)
        await cases.set_case_status(s, c, "closed", now=NOW, notify=False)
        number = c.number
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    await schedule_campaigns(services)
    async with db.session() as s:
        assert await campaigns.pending_count(s, campaign.id) == 1
        await cases.set_case_status(s, await cases.get_case(s, number), "in_progress", now=NOW, notify=False)
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=4))
    async with db.session() as s:
        assert (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "campaign"))).scalars().all() == []


def test_cli(db_url, tmp_path):
    async def setup():
        db = Database(db_url)
        async with db.session() as s:
            await make_areas(s)
        await db.dispose()

    asyncio.run(setup())
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url}
    good = tmp_path / "after_close.yaml"
    good.write_text(AFTER_CLOSE, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(AFTER_CLOSE.replace("anchor: case_close", "anchor: casee_close"), encoding="utf-8")

    def run(*args):
        return subprocess.run([XIANGZHU, "campaigns", *args], env=env, capture_output=True, text=True, timeout=60)

    out = run("add", str(bad))
    assert out.returncode == 1 and f"{bad}:3:" in out.stderr and "case_close" in out.stderr
    assert run("add", str(good)).returncode == 0
    assert "结案后回访" in run("list").stdout
    good.write_text(AFTER_CLOSE.replace("name: 结案后回访", "name: 回访二"), encoding="utf-8")
    assert run("edit", "1", str(good)).returncode == 0
    assert "回访二" in run("show", "1").stdout and "v2" in run("list").stdout
    assert run("pause", "1").returncode == 0 and "paused" in run("list").stdout
    assert run("remove", "1").returncode == 0 and "回访二" not in run("list").stdout
    missing = run("show", "1")
    assert missing.returncode == 1 and "not found" in missing.stderr
