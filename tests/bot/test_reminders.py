"""Activity reminders: a confirmed seat gets one reminder a day before, through the real
timer claim and handler; cancelled seats and opted-out people get none."""
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import select

import bot.reminders  # noqa: F401  registers the handler
from bot.config import load_settings
from bot.scheduler import claim_and_run_timers
from storage import activities
from storage.models import OutboxMessage, Person, Timer
from tests.storage.helpers import NOW, make_activity, make_person


async def test_reminder_sent_once_a_day_before_and_only_to_who_still_comes(db):
    async with db.session() as s:
        act = await make_activity(s, days=3, title="巧娘班")
        stays, leaves, quiet = [await make_person(s, ext=e) for e in ("stays", "leaves", "quiet")]
        await activities.enroll(s, act.id, stays.id, participant_name="小红", now=NOW)
        gone = await activities.enroll(s, act.id, leaves.id, now=NOW)
        await activities.enroll(s, act.id, quiet.id, now=NOW)
        (await s.get(Person, quiet.id)).opted_out = True
    async with db.session() as s:
        await activities.cancel_enrollment(s, gone.enrollment.id, now=NOW)
    services = SimpleNamespace(db=db, settings=load_settings(), clock=lambda: NOW)

    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=1)) == 0
    ran = await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=2, minutes=1))
    assert ran == 2  # the two still-pending reminders ran; the cancelled one never fires
    assert await claim_and_run_timers(services, claimer="t", now=NOW + timedelta(days=2, hours=1)) == 0

    async with db.session() as s:
        sent = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))).scalars().all()
        states = sorted((await s.execute(select(Timer.state))).scalars())
    assert [m.recipient for m in sent] == ["stays"]
    assert "巧娘班" in sent[0].text and "小红" in sent[0].text and "党群活动室" in sent[0].text
    assert states == ["cancelled", "done", "done"]
