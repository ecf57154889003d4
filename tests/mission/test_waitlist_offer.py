"""A waitlisted villager answers a seat offer with a bare "1" or "2" through the real
dispatcher, flow runtime (flows/builtin/waitlist_offer.yaml) and action."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import bot.waitlist  # noqa: F401  registers the offer handlers
from bot.scheduler import claim_and_run_timers
from storage import activities
from storage.models import Activity, Enrollment, Person, Timer
from tests.mission.conftest import NOW
from tests.storage.helpers import make_person


async def _offer_to(runner, sender: str) -> int:
    """`sender` waits for the one seat of a new activity; its holder cancels; the offer goes out."""
    await runner.send(sender, "你好")
    pid = await runner.person_id("rest", sender)
    async with runner.services.db.session() as s:
        me = await s.get(Person, pid)
        me.consent_given, me.consent_at = True, NOW  # signing up needs consent
        act = Activity(kind="activity", title="剪纸课", place="村委会", starts_at=NOW + timedelta(days=4), capacity=1)
        s.add(act)
        await s.flush()
        holder = await make_person(s, ext=f"holder-{sender}")
        seat = (await activities.enroll(s, act.id, holder.id, now=NOW)).enrollment
        mine = (await activities.enroll(s, act.id, pid, now=NOW)).enrollment
        await activities.cancel_enrollment(s, seat.id, now=NOW)
    assert await claim_and_run_timers(runner.services, claimer="t", now=NOW) >= 1
    return mine.id


async def test_reply_1_takes_the_seat(runner):
    eid = await _offer_to(runner, "wl-yes")
    out = await runner.send("wl-yes", "1")
    text = " ".join(o.text for o in out)
    assert "名额给您留下了" in text and "剪纸课" in text
    async with runner.services.db.session() as s:
        assert (await s.get(Enrollment, eid)).status == "confirmed"
        kinds = (await s.execute(select(Timer.kind).where(Timer.target == f"enrollment:{eid}",
                                                          Timer.state == "pending"))).scalars().all()
    assert sorted(kinds) == ["activity_reminder", "activity_reminder"]


async def test_reply_2_passes_it_on(runner):
    eid = await _offer_to(runner, "wl-no")
    out = await runner.send("wl-no", "2")
    assert "让给下一位" in " ".join(o.text for o in out)
    async with runner.services.db.session() as s:
        assert (await s.get(Enrollment, eid)).status == "declined"
