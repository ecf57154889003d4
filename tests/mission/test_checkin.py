"""A flagged household answers the monthly check-in through the real dispatcher, flow runtime
(flows/builtin/checkin.yaml) and action: "1" starts it, a yes opens a case with the answers."""
from __future__ import annotations

from sqlalchemy import select

import bot.checkins  # noqa: F401  registers the handlers
from bot.scheduler import claim_and_run_timers
from storage import flags
from storage.models import NeedRequest, Person
from tests.mission.conftest import NOW


async def test_checkin_hardship_opens_a_case(runner):
    await runner.send("ck", "你好")
    pid = await runner.person_id("rest", "ck")
    async with runner.services.db.session() as s:
        me = await s.get(Person, pid)
        me.consent_given, me.consent_at = True, NOW
        await flags.add_flag(s, pid, flags.WATCH, now=NOW)
    assert await claim_and_run_timers(runner.services, claimer="t", now=NOW) == 1
    assert "收入" in " ".join(o.text for o in await runner.send("ck", "1"))
    assert "大病" in " ".join(o.text for o in await runner.send("ck", "没有"))
    assert "遭灾" in " ".join(o.text for o in await runner.send("ck", "有"))
    out = " ".join(o.text for o in await runner.send("ck", "没有"))
    assert "求助编号" in out
    async with runner.services.db.session() as s:
        (case,) = (await s.execute(select(NeedRequest).where(NeedRequest.person_id == pid))).scalars().all()
    assert case.category == "medical" and "大病" in case.description and "收入" not in case.description
