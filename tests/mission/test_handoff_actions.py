"""Handoffs the YAML conversation tests cannot express: out of working hours (a different
clock), a voice note with its audio attached, and an emergency paging every worker on duty
(staff with linked messengers, so the page lands in the outbox). Through the real dispatcher."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from vocab.messages import Attachment, Inbound
from storage.models import ChannelIdentity, Handoff, OutboxMessage, Person, Staff


async def _person(runner, sender):
    async with runner.services.db.session() as s:
        pid = (await s.execute(select(ChannelIdentity.person_id).where(
            ChannelIdentity.external_id == sender))).scalar_one()
        return await s.get(Person, pid)


async def _handoffs(runner, person_id):
    async with runner.services.db.session() as s:
        return list((await s.execute(select(Handoff).where(Handoff.person_id == person_id))).scalars())


async def test_out_of_hours_takes_a_message_and_says_when(runner):
    runner.now = datetime(2026, 3, 7, 13, 0, tzinfo=timezone.utc)  # Saturday 21:00 in China
    out = await runner.send("night", "转人工")
    assert "下班" in out[0].text and "3月9日" in out[0].text  # Monday morning
    assert not await _handoffs(runner, (await _person(runner, "night")).id)
    out = await runner.send("night", "我家老人摔倒了腿很疼，想问问明天能不能来看看")
    assert "留言收到了" in out[-1].text
    [handoff] = await _handoffs(runner, (await _person(runner, "night")).id)
    assert handoff.reason == "message" and "摔倒" in handoff.summary


async def test_voice_note_goes_to_a_worker_with_the_audio(runner):
    for text in ("你好", "1", "1"):
        await runner.send("voice", text)
    voice = Attachment(kind="voice", path="voice/abc.amr", mime="audio/amr", platform_id="m1")
    out = await runner.services.dispatcher.handle(Inbound(
        channel="rest", sender="voice", text="", message_id="voice-note-1", attachments=(voice,)))
    assert any("转给社工" in o.text for o in out)
    [handoff] = await _handoffs(runner, (await _person(runner, "voice")).id)
    assert handoff.reason == "voice"
    assert handoff.attachments and handoff.attachments[0]["path"] == "voice/abc.amr"


async def test_emergency_pages_every_worker_on_duty(runner):
    async with runner.services.db.session() as s:
        staff = list((await s.execute(select(Staff))).scalars())
        for st in staff:  # link each staff member's messenger so a page reaches the outbox
            p = Person(display_name=st.username)
            s.add(p)
            await s.flush()
            s.add(ChannelIdentity(channel="rest", external_id=f"staff-{st.username}", person_id=p.id,
                                  staff_id=st.id))
        on_duty_workers = {st.id for st in staff if {"worker", "supervisor"} & set(st.roles)}
    out = await runner.send("sos", "救命 我男人拿刀要砍我")
    assert out[0].text.startswith("有危险请马上打电话") and "110" in out[0].text and "12338" in out[0].text
    person = await _person(runner, "sos")
    [handoff] = await _handoffs(runner, person.id)
    assert handoff.priority == "emergency" and handoff.reason == "emergency"
    async with runner.services.db.session() as s:
        paged = set((await s.execute(select(OutboxMessage.staff_id).where(OutboxMessage.kind == "page"))).scalars())
    assert paged == on_duty_workers  # everyone on duty, whatever their area (Monday 10:00)


async def test_while_waiting_for_a_worker_messages_are_acknowledged_and_an_emergency_still_gets_hotlines(runner):
    for text in ("你好", "1", "1"):
        await runner.send("wait", text)
    await runner.send("wait", "转人工")
    person = await _person(runner, "wait")
    [handoff] = await _handoffs(runner, person.id)
    assert handoff.priority == "normal"
    out = await runner.send("wait", "我家的低保停了")
    assert [o.text for o in out] == ["收到了。社工接手后会在这里回复您。有危险请马上打 110 或 120。"]
    out = await runner.send("wait", "我不想活了")
    assert any("12356" in o.text for o in out)  # the hotlines, although a handoff is open
    [handoff] = await _handoffs(runner, person.id)
    assert handoff.priority == "emergency"
