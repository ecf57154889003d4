"""Routing of handoffs (storage/routing.py) and the handoff domain around it: duty with the
`/duty` override, offer order village → township → county with the cap and load, the
on-call rota, the priority queue, concurrent claims, notes, saved answers, satisfaction."""
import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from storage import handoffs, routing, saved_answers
from storage.db import Database
from storage.models import AuditEntry, Conversation, Handoff, OutboxMessage
from tests.storage.helpers import NOW, make_areas, make_person, make_staff

TZ = ZoneInfo("Asia/Shanghai")
OFFICE = {"days": [1, 2, 3, 4, 5], "start": "09:00", "end": "17:00"}


async def test_duty_follows_hours_and_the_override_lasts_until_the_next_boundary(db):
    async with db.session() as s:
        w = await make_staff(s, "w", ["worker"], duty=OFFICE)
        assert routing.is_on_duty(w, NOW, TZ)  # Monday 10:00
        until = routing.set_duty(w, False, NOW, TZ)
        assert until == NOW.replace(hour=9)  # 17:00 local = 09:00 UTC, the shift's end
        assert not routing.is_on_duty(w, NOW + timedelta(hours=3), TZ)
        assert not routing.is_on_duty(w, until + timedelta(hours=1), TZ)  # 18:00: off by the hours again
        evening = NOW + timedelta(hours=10)  # 20:00 local
        until = routing.set_duty(w, True, evening, TZ)
        assert routing.is_on_duty(w, evening + timedelta(hours=1), TZ)
        assert until.astimezone(TZ).hour == 9 and until.astimezone(TZ).day == 24  # next start
        assert not routing.is_on_duty(w, until + timedelta(hours=9), TZ)  # 18:00 Tuesday: hours again


async def test_offers_go_to_the_village_then_township_then_county_least_loaded_first_under_the_cap(db):
    async with db.session() as s:
        county, town, v1, v2 = await make_areas(s)
        a = await make_staff(s, "a", ["worker"], [v1.id], duty=OFFICE)
        b = await make_staff(s, "b", ["worker"], [v1.id], duty=OFFICE)
        sup = await make_staff(s, "sup", ["supervisor"], [town.id], duty=OFFICE)
        far = await make_staff(s, "far", ["worker"], [v2.id], duty=OFFICE)
        p = await make_person(s, village_id=v1.id)
        busy, _ = await handoffs.open_handoff(s, p.id, now=NOW)
        assert await handoffs.claim_handoff(s, busy.id, a.id, now=NOW)
        order = await routing.offer_order(s, v1.id, NOW, TZ, cap=5)
        assert [x.id for x in order] == [b.id, a.id]  # the village's, least loaded first
        assert [x.id for x in await routing.offer_order(s, v1.id, NOW, TZ, cap=1)] == [b.id]  # a is at the cap
        routing.set_duty(a, False, NOW, TZ)
        routing.set_duty(b, False, NOW, TZ)
        assert [x.id for x in await routing.offer_order(s, v1.id, NOW, TZ, cap=5)] == [sup.id]  # the township
        routing.set_duty(sup, False, NOW, TZ)
        assert [x.id for x in await routing.offer_order(s, v1.id, NOW, TZ, cap=5)] == [far.id]  # the county
        assert await routing.offer_order(s, v1.id, NOW + timedelta(hours=12), TZ, cap=5) == []  # night
        # no village: the township's queue, for everyone with an area in the township
        assert [x.id for x in await routing.offer_order(s, None, NOW, TZ, cap=5)] == [far.id]
        routing.set_duty(sup, True, NOW, TZ)
        routing.set_duty(a, True, NOW, TZ)
        assert [x.id for x in await routing.offer_order(s, None, NOW, TZ, cap=5)] == [sup.id, far.id, a.id]
        county_worker = await make_staff(s, "county", ["worker"], [county.id], duty=OFFICE)
        assert county_worker.id not in [x.id for x in await routing.offer_order(s, None, NOW, TZ, cap=5)]


async def test_out_of_hours_emergencies_page_the_on_call_shift_else_the_township_supervisor(db):
    async with db.session() as s:
        county, town, v1, v2 = await make_areas(s)
        sup = await make_staff(s, "sup", ["supervisor"], [town.id], duty=OFFICE)
        oncall = await make_staff(s, "oncall", ["worker"], [v2.id], duty=OFFICE)
        night = NOW + timedelta(hours=12)
        assert [x.id for x in await routing.out_of_hours_pager(s, v1.id, night)] == [sup.id]
        await routing.add_on_call(s, oncall.id, night - timedelta(hours=1), night + timedelta(hours=8))
        assert [x.id for x in await routing.out_of_hours_pager(s, v1.id, night)] == [oncall.id]


async def test_working_minutes_skip_the_night(db):
    async with db.session() as s:
        w = await make_staff(s, "w", ["worker"], duty=OFFICE)
        late = NOW.replace(hour=8, minute=50)  # 16:50 local Monday
        assert routing.working_deadline([w], late, 30, TZ) == NOW.replace(hour=1, minute=20) + timedelta(days=1)
        assert routing.working_deadline([w], NOW, 10, TZ) == NOW + timedelta(minutes=10)


async def test_the_queue_is_served_by_priority_then_oldest(db):
    async with db.session() as s:
        ids = {}
        for n, (name, prio) in enumerate([("old", "normal"), ("urg", "urgent"), ("new", "normal"),
                                          ("sos", "emergency")]):
            p = await make_person(s, ext=name)
            h, _ = await handoffs.open_handoff(s, p.id, priority=prio, now=NOW + timedelta(minutes=n))
            ids[name] = h.id
        order = [h.id for h in await handoffs.list_handoffs(s)]
    assert order == [ids["sos"], ids["urg"], ids["old"], ids["new"]]


async def test_two_workers_claiming_at_once_exactly_one_wins(db_url):
    setup = Database(db_url)
    async with setup.session() as s:
        a = await make_staff(s, "a", ["worker"])
        b = await make_staff(s, "b", ["worker"])
        waiting = []
        for n in range(3):
            p = await make_person(s, ext=f"u{n}")
            waiting.append((await handoffs.open_handoff(s, p.id, now=NOW))[0].id)
    await setup.dispose()
    for handoff_id in waiting:  # a few rounds, each on separate connections (processes' pools)
        dbs = [Database(db_url), Database(db_url)]

        async def claim(d, sid):
            async with d.session() as s:
                return await handoffs.claim_handoff(s, handoff_id, sid, now=NOW)

        wins = await asyncio.gather(claim(dbs[0], a.id), claim(dbs[1], b.id))
        for d in dbs:
            await d.dispose()
        assert sorted(wins) == [False, True]
    check = Database(db_url)
    async with check.session() as s:
        claims = (await s.execute(select(AuditEntry.target).where(AuditEntry.action == "handoff.claim"))).scalars().all()
        rows = [await s.get(Handoff, i) for i in waiting]
    await check.dispose()
    assert sorted(claims) == sorted(f"handoff:{i}" for i in waiting)  # one audited claim each
    assert all(r.status == "claimed" and r.claimed_by_staff_id in (a.id, b.id) for r in rows)


async def test_notes_saved_answers_satisfaction_and_summary(db):
    async with db.session() as s:
        _, town, v1, _ = await make_areas(s)
        p = await make_person(s, village_id=v1.id)
        s.add(Conversation(person_id=p.id))
        w = await make_staff(s, "w", ["worker"], [v1.id])
        h, _ = await handoffs.open_handoff(s, p.id, summary="低保停了，电话 13812345678", now=NOW)
        await handoffs.add_note(s, h, w.id, "家里老人生病", now=NOW)
        shared = await saved_answers.save(s, "低保", "{name}您好，{village}的低保请带户口本，个案{case}。",
                                          staff_id=None, actor="staff:1")
        own = await saved_answers.save(s, "低保", "{name}，我是您的社工。", staff_id=w.id, actor=f"staff:{w.id}")
        found = await saved_answers.find(s, w.id, "低保")
        summary = await handoffs.summary(s, h)
        text = handoffs.offer_text(summary)
        assert await handoffs.claim_handoff(s, h.id, w.id, now=NOW)
        await handoffs.close_handoff(s, h, outcome="已解答", by_staff_id=w.id, now=NOW)
        assert await handoffs.record_satisfaction(s, h.id, p.id, 1)
        assert not await handoffs.record_satisfaction(s, h.id, p.id, 7)
    assert found.id == own.id != shared.id  # the worker's own answer wins
    assert saved_answers.fill(shared.text, {"name": "李", "village": "东坡村", "case": "XZ-1"}) == \
        "李您好，东坡村的低保请带户口本，个案XZ-1。"
    assert summary.village == "东坡村" and summary.name == "u1"
    assert "138****5678" in text and "13812345678" not in text  # masked in notifications
    async with db.session() as s:
        assert (await s.get(Handoff, h.id)).satisfaction == 1
        notes = await handoffs.notes(s, h.id)
        actions = set((await s.execute(select(AuditEntry.action))).scalars())
        outbox = [o.text for o in (await s.execute(select(OutboxMessage))).scalars()]
    assert [n.text for n in notes] == ["家里老人生病"]
    assert {"handoff.note", "handoff.claim", "handoff.close", "handoff.satisfaction"} <= actions
    assert not any("家里老人生病" in t for t in outbox)  # a note never reaches the villager


def _minute_by_minute(staff, start, minutes, tz):
    """working_deadline as the rule reads: count each minute someone is on their hours."""
    if not staff or minutes <= 0:
        return start + timedelta(minutes=max(0, minutes))
    t, left = start.replace(second=0, microsecond=0), minutes
    for _ in range(14 * 24 * 60):
        if any(routing.scheduled_on_duty(s, t, tz) for s in staff):
            left -= 1
            if left <= 0:
                return t + timedelta(minutes=1)
        t += timedelta(minutes=1)
    return start + timedelta(minutes=minutes)


def test_working_deadline_skips_whole_shifts_and_nights_with_the_minute_by_minute_result():
    from types import SimpleNamespace as Hours

    rosters = [
        [Hours(on_duty=OFFICE)],
        [Hours(on_duty=OFFICE), Hours(on_duty={"days": [6, 7], "start": "10:15", "end": "12:45"})],
        [Hours(on_duty={"days": [1, 3], "start": "00:00", "end": "06:30"}), Hours(on_duty={})],  # {}: the default
        [Hours(on_duty={"always": True}), Hours(on_duty=OFFICE)],
        [Hours(on_duty={"days": [], "start": "09:00", "end": "17:00"})],  # never on duty: plain minutes after 2 weeks
        [Hours(on_duty={"days": [2], "start": "22:00", "end": "06:00"})],  # end before start: never
    ]
    for n, roster in enumerate(rosters):
        # a roster never on duty walks two weeks minute by minute in the reference: few starts
        for step in range(0, 9 * 24 * 60, 337 if n < 4 else 4001):
            start = NOW + timedelta(minutes=step, seconds=step % 60)
            for minutes in (1, 2, 30, 600) if n < 4 else (1, 30):
                assert routing.working_deadline(roster, start, minutes, TZ) == _minute_by_minute(
                    roster, start, minutes, TZ), (roster, start, minutes)
