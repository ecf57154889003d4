"""A villager answers the follow-up question with a bare "2" (not solved) or "1" through the
real dispatcher, flow runtime (flows/builtin/case_followup.yaml) and action."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import bot.followups  # noqa: F401  registers the handler
from bot.scheduler import claim_and_run_timers
from storage import cases
from storage.models import CaseEvent, NeedRequest, Person
from tests.mission.conftest import NOW


async def _asked(runner, sender: str) -> str:
    await runner.send(sender, "你好")
    pid = await runner.person_id("rest", sender)
    async with runner.services.db.session() as s:
        me = await s.get(Person, pid)
        me.consent_given, me.consent_at = True, NOW
        case = await cases.open_case(s, person_id=pid, category="housing", description="屋顶漏雨", now=NOW)
        await cases.set_case_status(s, case, "resolved", now=NOW, notify=False)
        number = case.number
    days = runner.services.settings.followup_days
    await claim_and_run_timers(runner.services, claimer="t", now=NOW)
    await claim_and_run_timers(runner.services, claimer="t", now=NOW + timedelta(days=days, hours=1))
    return number


async def test_reply_2_reopens_the_case(runner):
    number = await _asked(runner, "fu-no")
    out = await runner.send("fu-no", "2")
    assert "已重新打开" in " ".join(o.text for o in out)
    async with runner.services.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one()
        kinds = (await s.execute(select(CaseEvent.kind).where(CaseEvent.case_id == case.id))).scalars().all()
    assert case.status in ("new", "assigned") and "reopened" in kinds


async def test_reply_1_says_thanks(runner):
    number = await _asked(runner, "fu-yes")
    out = await runner.send("fu-yes", "1")
    assert "谢谢" in " ".join(o.text for o in out)
    async with runner.services.db.session() as s:
        case = (await s.execute(select(NeedRequest).where(NeedRequest.number == number))).scalar_one()
    assert case.status == "resolved"
