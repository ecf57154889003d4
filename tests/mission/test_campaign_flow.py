"""A campaign whose action starts a flow, through the real dispatcher, flow runtime and REST
channel: a day after a household is flagged, the campaign's timer (run with the hand-set
clock) starts the monthly check-in flow for them — its first question arrives by itself — and
their answers are handled by that flow until a hardship opens a case. The send is counted as
sent and answered; a household in the middle of another flow is skipped (in_flow), its
conversation left alone."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

import bot.campaigns  # noqa: F401  registers the handler
from bot.scheduler import claim_and_run_timers
from flows.campaigns import parse_campaign
from storage import campaigns as campaign_store
from storage import flags, timers
from storage.models import Conversation, NeedRequest, OutboxMessage, Person, Timer
from tests.mission.conftest import NOW

CAMPAIGN = """\
name: 标记后一天的回访
segment: {flagged: return_to_poverty_watch}
anchor: flag_date
offset: 1 day after
delivery_hour: 10
action:
  flow: checkin
"""


async def test_a_campaign_starts_the_checkin_flow_and_the_flow_takes_the_answers(runner):
    for text in ("你好", "1", "1"):  # 中文, 同意: the greeting's questions answered, no flow open
        await runner.send("cf", text)
    pid = await runner.person_id("rest", "cf")
    await runner.send("busy", "你好")  # another household, still at the greeting's language question
    busy = await runner.person_id("rest", "busy")
    spec, errors = parse_campaign(CAMPAIGN)
    assert errors == [] and spec["flow"] == "checkin" and "in_flow" in spec["exclude"]
    async with runner.services.db.session() as s:
        assert (await s.get(Person, pid)).consent_given
        for someone in (pid, busy):
            flag, _ = await flags.add_flag(s, someone, flags.WATCH, now=NOW)
            await timers.cancel(s, kind=flags.CHECKIN, target=f"flag:{flag.id}")  # only the campaign asks here
        campaign, rows = await campaign_store.add(s, CAMPAIGN, spec, tz="Asia/Shanghai", now=NOW)
        assert rows == 2
        due = (await s.execute(select(Timer.due_at).where(Timer.kind == "campaign"))).scalars().all()
    assert due == [NOW + timedelta(days=1)] * 2  # 10:00 local the next day
    assert await claim_and_run_timers(runner.services, claimer="t", now=due[0]) == 2
    async with runner.services.db.session() as s:
        out = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "campaign"))).scalars().all()
        report = await campaign_store.report(s, campaign.id)
    assert report["skipped"] == {"in_flow": 1}, report  # a flow never cuts into another one
    async with runner.services.db.session() as s:
        assert (await s.execute(select(Conversation.flow_id).where(Conversation.person_id == busy))).scalar_one() \
            == "welcome"
    assert [o.recipient for o in out] == ["cf"] and "1/3" in out[0].text and "收入" in out[0].text
    assert report["sent"] == 1 and report["answered"] == 0
    assert "2/3" in " ".join(o.text for o in await runner.send("cf", "有"))
    assert "3/3" in " ".join(o.text for o in await runner.send("cf", "没有"))
    assert "求助编号" in " ".join(o.text for o in await runner.send("cf", "没有"))
    async with runner.services.db.session() as s:
        (case,) = (await s.execute(select(NeedRequest).where(NeedRequest.person_id == pid))).scalars().all()
        assert case.category == "livelihood" and "收入" in case.description
        assert (await campaign_store.report(s, campaign.id))["answered"] == 1
