"""Case follow-ups through the real timers and handlers (bot/followups.py) with a hand-moved
clock: asked XIANGZHU_FOLLOWUP_DAYS after the close, not when reopened meanwhile, not to the
opted-out, after quiet hours; "not solved" reopens the case with an event and pages the area's
workers; a WeChat follower out of the 48-hour window makes a task for the village's worker to call — on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

import bot.followups  # noqa: F401  registers the handler
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage import cases, casework
from storage.followups import record_answer
from storage.models import CaseEvent, CaseTask, NeedRequest, OutboxMessage, Person
from tests.storage.helpers import NOW, make_areas, make_person, make_staff


async def asked(db) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "followup")
                                     .order_by(OutboxMessage.id))).scalars())


async def test_asked_n_days_after_close_and_not_solved_reopens(db):
    async with db.session() as s:
        _, _, v1, v2 = await make_areas(s)
        worker = await make_staff(s, "w1", ["worker"], [v1.id], link_channel="telegram")
        await make_staff(s, "w2", ["worker"], [v2.id], link_channel="telegram")
        p = await make_person(s, ext="p", village_id=v1.id)
        again = await make_person(s, ext="again", village_id=v1.id)
        c = await cases.open_case(s, person_id=p.id, category="housing", village_id=v1.id, now=NOW)
        c2 = await cases.open_case(s, person_id=again.id, category="medical", village_id=v1.id, now=NOW)
        await cases.set_case_status(s, c, "resolved", outcome="修好了", now=NOW, notify=False)
        await cases.set_case_status(s, c2, "closed", now=NOW, notify=False)
        number, pid = c.number, p.id
    services = SimpleNamespace(db=db, settings=load_settings(followup_days=3), clock=lambda: NOW)
    assert await claim_and_run_timers(services, claimer="t", now=NOW) == 2  # plans the questions
    async with db.session() as s:
        await cases.set_case_status(s, await cases.get_case(s, c2.number), "in_progress", now=NOW, notify=False)
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=3, minutes=-1)) == 0
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=3)) == 2
    (q,) = await asked(db)  # the reopened case is not asked about
    assert q.recipient == "p" and "问题解决了吗" in q.text and number in q.text
    assert [b["title"] for b in q.buttons] == ["解决了", "没解决"]

    async with db.session() as s:
        outcome, case = await record_answer(s, number, person_id=pid, solved=False, now=NOW + timedelta(days=3))
        assert outcome == "reopened" and case.status == "new" and case.closed_at is None
        kinds = (await s.execute(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))).scalars().all()
        pages = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "page"))).scalars().all()
        assert (await record_answer(s, number, person_id=pid, solved=False, now=NOW))[0] == "already_open"
        assert (await record_answer(s, number, person_id=pid + 999, solved=True, now=NOW))[0] == "not_found"
    assert "reopened" in kinds
    assert [m.staff_id for m in pages] == [worker.id] and number in pages[0].text


async def test_opted_out_never_asked_and_quiet_hours_wait(db):
    async with db.session() as s:
        out = await make_person(s, ext="out")
        out.opted_out = True
        p = await make_person(s, ext="p")
        for who in (out, p):
            c = await cases.open_case(s, person_id=who.id, category="housing", now=NOW)
            await cases.set_case_status(s, c, "closed", now=NOW + timedelta(hours=12), notify=False)  # 22:00
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(hours=12))
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=7, hours=12))  # 22:00: deferred
    assert await asked(db) == []
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=7, hours=21))  # 07:00
    assert [m.recipient for m in await asked(db)] == ["p"]


async def test_solved_is_noted_on_the_timeline(db):
    async with db.session() as s:
        p = await make_person(s)
        c = await cases.open_case(s, person_id=p.id, category="housing", now=NOW)
        await cases.set_case_status(s, c, "resolved", now=NOW, notify=False)
        outcome, case = await record_answer(s, c.number, person_id=p.id, solved=True, now=NOW)
        events = (await s.execute(select(CaseEvent).where(CaseEvent.case_id == c.id, CaseEvent.kind == "followup")
                                  )).scalars().all()
    assert outcome == "thanks" and case.status == "resolved" and events[0].data == {"solved": True}


async def test_wechat_outside_the_window_gives_the_worker_a_task_to_call(db):
    from sqlalchemy import update

    from storage.models import ChannelIdentity

    async with db.session() as s:
        _, _, v1, _ = await make_areas(s)
        worker = await make_staff(s, "w1", ["worker"], [v1.id], link_channel="telegram")
        p = await make_person(s, ext="wx", channel="wechat", village_id=v1.id)
        c = await cases.open_case(s, person_id=p.id, category="housing", village_id=v1.id, now=NOW)
        await cases.set_case_status(s, c, "closed", now=NOW, notify=False)
        number = c.number
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    await claim_and_run_timers(services, claimer="t", now=NOW)
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=7))  # last message 7 days ago
    async with db.session() as s:
        pages = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "page"))).scalars().all()
    assert len(await asked(db)) == 1  # still queued: the outbox holds it until they write
    assert [m.staff_id for m in pages] == [worker.id] and number in pages[0].text and "48" in pages[0].text
    async with db.session() as s:
        tasks = (await s.execute(select(CaseTask).join(NeedRequest, NeedRequest.id == CaseTask.case_id)
                                 .where(NeedRequest.number == number))).scalars().all()
    assert [(t.assignee_staff_id, t.done_at, t.created_by_staff_id) for t in tasks] == [(worker.id, None, None)]
    assert "电话回访" in tasks[0].title
    # the timer running again (a retry) does not double the task nor the page
    async with db.session() as s:
        await casework.add_call_task(s, await cases.get_case(s, number), tasks[0].title, village_id=v1.id, now=NOW)
        assert len((await s.execute(select(CaseTask))).scalars().all()) == 1

    # with a template configured nobody needs to call
    async with db.session() as s:
        c2 = await cases.open_case(s, person_id=p.id, category="medical", village_id=v1.id, now=NOW)
        await cases.set_case_status(s, c2, "closed", now=NOW, notify=False)
        await s.execute(update(ChannelIdentity).values(last_inbound_at=NOW))
    templated = SimpleNamespace(db=db, settings=load_settings(wechat_template_id="tmpl"), clock=lambda: NOW)
    await claim_and_run_timers(templated, claimer="t", now=NOW + timedelta(days=7, hours=1))
    await claim_and_run_timers(templated, claimer="t", now=NOW + timedelta(days=14))
    async with db.session() as s:
        assert len((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "page"))).scalars().all()) == 1
