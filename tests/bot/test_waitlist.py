"""Waitlist offers through the real timers and handlers (bot/waitlist.py) with a hand-moved
clock: a freed seat is held and offered to the first waiting with a deadline; no answer → the
next person; yes confirms (with reminders), no passes it on; the roster API shows the offer —
on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

import bot.waitlist  # noqa: F401  registers the handlers
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage import activities
from storage.models import Enrollment, OutboxMessage, Person, Timer
from tests.storage.helpers import NOW, make_activity, make_person


async def offers(db) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "offer")
                                     .order_by(OutboxMessage.id))).scalars())


async def statuses(db) -> dict[str, str]:
    async with db.session() as s:
        rows = (await s.execute(select(Person.display_name, Enrollment.status)
                                .join(Person, Person.id == Enrollment.person_id))).all()
    return dict(rows)


async def test_offer_chain_with_deadlines(db):
    async with db.session() as s:
        act = await make_activity(s, capacity=1, days=3)
        ids = {}
        for name, locale in (("a", "zh"), ("b", "zh"), ("c", "en"), ("d", "zh")):
            p = await make_person(s, ext=name, locale=locale)
            ids[name] = (await activities.enroll(s, act.id, p.id, now=NOW)).enrollment.id
    services = SimpleNamespace(db=db, settings=load_settings(waitlist_offer_hours=6), clock=lambda: NOW)
    async with db.session() as s:
        await activities.cancel_enrollment(s, ids["a"], now=NOW)
    assert await claim_and_run_timers(services, claimer="t", now=NOW) == 1
    (offer_b,) = await offers(db)
    assert offer_b.recipient == "b" and "空出一个名额" in offer_b.text and "16:00" in offer_b.text  # 10:00 + 6 h
    assert [b["payload"] for b in offer_b.buttons] == [f"/waitlist_offer {ids['b']} yes", f"/waitlist_offer {ids['b']} no"]
    assert [b["title"] for b in offer_b.buttons] == ["要", "不要了"]
    assert (await statuses(db))["b"] == "offered"

    # no answer within 6 hours → lapsed, c is offered (in English)
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(hours=5)) == 0
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(hours=6)) == 1  # expiry
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(hours=6)) == 1  # next offer
    st = await statuses(db)
    assert (st["b"], st["c"], st["d"]) == ("offer_expired", "offered", "waitlisted")
    offer_c = (await offers(db))[-1]
    assert offer_c.recipient == "c" and offer_c.text.startswith("Good news") and offer_c.buttons[0]["title"] == "Yes, I want it"

    # b answers too late: nothing changes
    async with db.session() as s:
        late = await activities.answer_offer(s, ids["b"], person_id=(await s.get(Enrollment, ids["b"])).person_id,
                                             accept=True, now=NOW + timedelta(hours=7))
    assert late[0] == "lapsed"
    # c says no → d is offered; d says yes → confirmed, with reminders, the deadline timer gone
    async with db.session() as s:
        c_person = (await s.get(Enrollment, ids["c"])).person_id
        assert (await activities.answer_offer(s, ids["c"], person_id=c_person, accept=False,
                                              now=NOW + timedelta(hours=7)))[0] == "declined"
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(hours=7)) == 1
    async with db.session() as s:
        d_person = (await s.get(Enrollment, ids["d"])).person_id
        assert (await activities.answer_offer(s, ids["d"], person_id=d_person, accept=True,
                                              now=NOW + timedelta(hours=8)))[0] == "confirmed"
        assert await activities.seats_taken(s, act.id) == 1
        d_timers = (await s.execute(select(Timer.kind, Timer.state).where(Timer.target == f"enrollment:{ids['d']}")
                                    )).all()
    assert (await statuses(db)) == {"a": "cancelled", "b": "offer_expired", "c": "declined", "d": "confirmed"}
    assert ("waitlist_offer_expiry", "cancelled") in d_timers
    assert sorted(k for k, st in d_timers if st == "pending") == ["activity_reminder", "activity_reminder"]
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=1)) == 0  # d's expiry never fires


async def test_offer_deferred_over_quiet_hours_and_skips_opted_out(db):
    night = NOW + timedelta(hours=13)  # 23:00 in Shanghai
    async with db.session() as s:
        act = await make_activity(s, capacity=1, days=3)
        ids = {}
        for name in ("a", "out", "b"):
            p = await make_person(s, ext=name)
            ids[name] = (await activities.enroll(s, act.id, p.id, now=NOW)).enrollment.id
        (await s.get(Person, (await s.get(Enrollment, ids["out"])).person_id)).opted_out = True
    async with db.session() as s:
        await activities.cancel_enrollment(s, ids["a"], now=night)
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)
    await claim_and_run_timers(services, claimer="t", now=night)  # opted out → lapses → b offered
    await claim_and_run_timers(services, claimer="t", now=night)  # b's offer: quiet hours → 07:00
    assert await offers(db) == []
    st = await statuses(db)
    assert (st["out"], st["b"]) == ("offer_expired", "offered")
    await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(hours=21))  # 07:00
    (offer,) = await offers(db)
    assert offer.recipient == "b" and "19:00" in offer.text  # 07:00 + 12 h default
