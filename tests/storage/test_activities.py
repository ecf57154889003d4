import asyncio

from sqlalchemy import select

from storage import activities
from storage.db import Database
from storage.models import Enrollment, OutboxMessage, Timer
from tests.storage.helpers import NOW, make_activity, make_person


async def test_capacity_waitlist_and_promotion(db):
    async with db.session() as s:
        act = await make_activity(s, capacity=2)
        people = [await make_person(s, ext=f"u{i}") for i in range(4)]
        results = [await activities.enroll(s, act.id, p.id, now=NOW) for p in people]
    assert [r.enrollment.status for r in results] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r.enrollment.waitlist_position for r in results[2:]] == [1, 2]
    async with db.session() as s:
        again = await activities.enroll(s, act.id, people[0].id, now=NOW)
        assert again.created is False and again.enrollment.id == results[0].enrollment.id
        await activities.cancel_enrollment(s, results[0].enrollment.id, person_id=people[0].id, now=NOW)
    async with db.session() as s:
        rows = {e.person_id: e for e in (await s.execute(select(Enrollment))).scalars()}
        offers = (await s.execute(select(Timer).where(Timer.kind == "waitlist_offer"))).scalars().all()
        reminders = (await s.execute(select(Timer).where(Timer.kind == "activity_reminder"))).scalars().all()
        assert await activities.seats_taken(s, act.id) == 2  # the offered seat is held
    assert rows[people[0].id].status == "cancelled"
    # the freed seat is offered (held) to the first waiting; bot/waitlist.py sends the offer
    assert rows[people[2].id].status == "offered" and rows[people[2].id].waitlist_position is None
    assert rows[people[3].id].waitlist_position == 1
    assert [o.target for o in offers] == ["enrollment:%d" % results[2].enrollment.id]
    states = sorted((r.target, r.state) for r in reminders)
    assert ("enrollment:%d" % results[0].enrollment.id, "cancelled") in states
    assert not any(t == "enrollment:%d" % results[2].enrollment.id for t, _ in states)  # not until accepted


async def test_someone_else_cannot_cancel(db):
    async with db.session() as s:
        act = await make_activity(s)
        a, b = await make_person(s, ext="a"), await make_person(s, ext="b")
        r = await activities.enroll(s, act.id, a.id, now=NOW)
        assert await activities.cancel_enrollment(s, r.enrollment.id, person_id=b.id, now=NOW) is None
        assert r.enrollment.status == "confirmed"


async def test_last_seat_is_taken_once_under_concurrency(db_url):
    setup = Database(db_url)
    async with setup.session() as s:
        act = await make_activity(s, capacity=1)
        ids = [(await make_person(s, ext=f"p{i}")).id for i in range(6)]
    await setup.dispose()
    dbs = [Database(db_url) for _ in ids]

    async def one(d, pid):
        async with d.session() as s:
            return (await activities.enroll(s, act.id, pid, now=NOW)).enrollment.status

    statuses = await asyncio.gather(*(one(d, pid) for d, pid in zip(dbs, ids)))
    for d in dbs:
        await d.dispose()
    assert statuses.count("confirmed") == 1 and statuses.count("waitlisted") == 5


async def test_guardian_signs_up_a_child_and_self(db):
    async with db.session() as s:
        act = await make_activity(s)
        g = await make_person(s)
        r1 = await activities.enroll(s, act.id, g.id, participant_name="小明", now=NOW)
        r2 = await activities.enroll(s, act.id, g.id, now=NOW)
        mine = await activities.enrollments_for_person(s, g.id)
    assert r1.created and r2.created and len(mine) == 2
