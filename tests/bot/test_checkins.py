"""Return-to-poverty check-ins through the real timers and handlers (bot/checkins.py) with a
hand-moved clock: monthly invitations, two silent months page the village's workers to call,
a hardship answer opens a case for the village, clearing the flag stops it all — on SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

import bot.checkins  # noqa: F401  registers the handlers
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage import flags
from storage.models import NeedRequest, OutboxMessage, Timer
from tests.storage.helpers import NOW, make_areas, make_person, make_staff


async def out(db, kind) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == kind)
                                     .order_by(OutboxMessage.id))).scalars())


async def test_monthly_checkin_silence_pages_workers_and_clear_stops(db):
    async with db.session() as s:
        _, _, v1, v2 = await make_areas(s)
        worker = await make_staff(s, "w1", ["worker"], [v1.id], link_channel="telegram")
        await make_staff(s, "w2", ["worker"], [v2.id], link_channel="telegram")
        p = await make_person(s, ext="home", village_id=v1.id)
        flag, created = await flags.add_flag(s, p.id, flags.WATCH, reason="因病", staff_id=worker.id, now=NOW)
        again, created_again = await flags.add_flag(s, p.id, flags.WATCH, now=NOW)
        assert created and not created_again and again.id == flag.id
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    assert await claim_and_run_timers(services, claimer="t", now=NOW) == 1
    (first,) = await out(db, "checkin")
    assert "每月回访" in first.text and first.buttons[0]["payload"] == f"/checkin {flag.id}"
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=29)) == 0
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=30)) == 1
    assert await out(db, "page") == []
    # the third month with no answer at all: the village's worker is asked to call
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=60))
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=60))
    pages = await out(db, "page")
    assert [m.staff_id for m in pages] == [worker.id] and "打电话" in pages[0].text
    assert "13" not in pages[0].text  # no phone number in the page
    assert len(await out(db, "checkin")) == 3
    async with db.session() as s:
        call = (await s.execute(select(Timer).where(Timer.kind == "call_household"))).scalars().all()
        assert [t.state for t in call] == ["done"]
        await flags.clear_flag(s, flag.id, staff_id=worker.id, now=NOW + timedelta(days=61))
        pending = (await s.execute(select(Timer).where(Timer.state == "pending"))).scalars().all()
    assert pending == []
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=120)) == 0


async def test_answer_resets_silence_and_hardship_opens_a_village_case(db):
    async with db.session() as s:
        _, _, v1, _ = await make_areas(s)
        p = await make_person(s, village_id=v1.id)
        flag, _ = await flags.add_flag(s, p.id, flags.WATCH, now=NOW)
        fine = await flags.record_checkin(s, flag.id, person_id=p.id, now=NOW + timedelta(days=40),
                                          answers={"income_dropped": False, "illness": False, "disaster": False})
        assert fine == ("fine", None)
        assert not flags.silent_too_long(flag, NOW + timedelta(days=61))
        outcome, case = await flags.record_checkin(s, flag.id, person_id=p.id, now=NOW + timedelta(days=41),
                                                   answers={"income_dropped": True, "illness": False, "disaster": True})
        assert outcome == "case_opened"
        assert (case.category, case.village_id, case.affected, case.urgency) == ("disaster", v1.id, "household", "high")
        assert "收入明显减少" in case.description and "遭了灾" in case.description and "大病" not in case.description
        assert (await flags.record_checkin(s, flag.id, person_id=p.id + 1, answers={}))[0] == "not_found"
        assert len((await s.execute(select(NeedRequest))).scalars().all()) == 1


async def test_wechat_outside_the_window_gets_a_call_that_month(db):
    async with db.session() as s:
        _, _, v1, _ = await make_areas(s)
        worker = await make_staff(s, "w1", ["worker"], [v1.id], link_channel="telegram")
        p = await make_person(s, ext="wx", channel="wechat", village_id=v1.id)
        await flags.add_flag(s, p.id, flags.WATCH, now=NOW + timedelta(days=3))
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=3))
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=3))
    assert len(await out(db, "checkin")) == 1  # held by the outbox until they write
    assert [m.staff_id for m in await out(db, "page")] == [worker.id]
