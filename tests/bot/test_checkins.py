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
from storage import cases as case_store
from storage import flags
from storage.casework import local_day
from storage.models import CaseTask, NeedRequest, OutboxMessage, Timer
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
    async with db.session() as s:  # the call is a casework task of the village's worker, on a new case
        (task,) = (await s.execute(select(CaseTask))).scalars().all()
        case = await s.get(NeedRequest, task.case_id)
    assert (task.assignee_staff_id, task.title, task.done_at) == (worker.id, flags.CALL_TITLE, None)
    assert task.due_on == local_day(NOW + timedelta(days=60))
    assert (case.person_id, case.village_id, case.affected, case.status) == (p.id, v1.id, "household", "new")
    assert case.number in pages[0].text
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


async def test_the_call_goes_on_an_open_case_once(db):
    """A household with an open case: the call task goes on that case, assigned to the village's
    worker (not the township's supervisor); another silent month does not add a second one
    while the first is open."""
    async with db.session() as s:
        _, town, v1, _ = await make_areas(s)
        await make_staff(s, "sup", ["supervisor"], [town.id], link_channel="telegram")
        worker = await make_staff(s, "w1", ["worker"], [v1.id], link_channel="telegram")
        p = await make_person(s, ext="home", village_id=v1.id)
        case = await case_store.open_case(s, person_id=p.id, category="medical", village_id=v1.id, now=NOW)
        flag, _ = await flags.add_flag(s, p.id, flags.WATCH, now=NOW)
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    for day in (0, 30, 60, 60, 90, 90):
        await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=day))
    async with db.session() as s:
        tasks = (await s.execute(select(CaseTask))).scalars().all()
        cases = (await s.execute(select(NeedRequest))).scalars().all()
        calls = (await s.execute(select(Timer).where(Timer.kind == "call_household"))).scalars().all()
    assert len(calls) == 2 and all(t.state == "done" for t in calls)
    assert [(t.case_id, t.assignee_staff_id) for t in tasks] == [(case.id, worker.id)]
    assert [c.id for c in cases] == [case.id]
    assert [m.staff_id for m in await out(db, "page")] == [worker.id]
