"""The social workers' desk through the real dispatcher, flows and NLU over the demo data:
a villager (REST) and workers who linked their messengers with an invite code. Offers,
claims, relay both ways, commands, close and satisfaction, area rules, the emergency path
during a claimed handoff, and the handoff clock (escalation, the honest word, no reply)
moved by hand."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from bot.scheduler import claim_and_run_timers, load_job_modules
from storage import flags, saved_answers
from storage.models import (
    Area,
    AuditEntry,
    ChannelIdentity,
    Conversation,
    Handoff,
    HandoffNote,
    OutboxMessage,
    Person,
    Staff,
)
from storage.staff_invites import create_invite

load_job_modules()


async def link(runner, username: str, sender: str, channel: str = "telegram") -> None:
    async with runner.services.db.session() as s:
        _, code = await create_invite(s, username)
    out = await runner.send(sender, payload=f"/start w-{code}", channel=channel)
    assert "绑定好了" in out[0].text


async def villager(runner, sender: str, village: str | None = "东坡村") -> int:
    for text in ("你好", "1", "1"):  # language, consent
        await runner.send(sender, text)
    pid = await runner.person_id("rest", sender)
    if village:
        async with runner.services.db.session() as s:
            vid = (await s.execute(select(Area.id).where(Area.name == village))).scalar_one()
            await s.execute(update(Person).where(Person.id == pid).values(village_id=vid, display_name="李秀英"))
    return pid


async def open_handoff(runner, sender: str) -> Handoff:
    await runner.send(sender, "我要找社工")
    pid = await runner.person_id("rest", sender)
    async with runner.services.db.session() as s:
        return (await s.execute(select(Handoff).where(Handoff.person_id == pid))).scalars().one()


async def outbox(runner, recipient: str) -> list[OutboxMessage]:
    async with runner.services.db.session() as s:
        return list((await s.execute(select(OutboxMessage).where(OutboxMessage.recipient == recipient)
                                     .order_by(OutboxMessage.id))).scalars())


async def texts(runner, recipient: str) -> list[str]:
    return [o.text for o in await outbox(runner, recipient)]


async def flags_of_person(runner, person_id: int):
    async with runner.services.db.session() as s:
        return await flags.flags_of(s, person_id)


async def handoff(runner, handoff_id: int) -> Handoff:
    async with runner.services.db.session() as s:
        return await s.get(Handoff, handoff_id)


async def test_claim_relay_both_ways_commands_close_and_satisfaction(runner):
    await link(runner, "wangfang", "tg-wang")
    await link(runner, "chenjie", "tg-chen")
    async with runner.services.db.session() as s:
        await saved_answers.save(s, "材料", "{name}您好，{village}办低保请带户口本。", staff_id=None, actor="cli")
    pid = await villager(runner, "v1")
    h = await open_handoff(runner, "v1")
    assert h.status == "waiting" and h.priority == "normal"

    [offer] = [o for o in await outbox(runner, "tg-wang") if f"#{h.id}" in o.text]
    assert "东坡村" in offer.text and "李秀英" in offer.text
    assert [b["payload"] for b in offer.buttons] == [f"/claim {h.id}", f"/skip {h.id}"]
    assert not [t for t in await texts(runner, "tg-chen") if f"#{h.id}" in t]  # Xipo's worker: not offered

    out = await runner.send("tg-wang", "认领 Claim", payload=f"/claim {h.id}", channel="telegram")
    assert f"您认领了 #{h.id}" in out[0].text
    assert (await handoff(runner, h.id)).claimed_by_staff_id is not None
    assert any("社工王芳来了" in t for t in await texts(runner, "v1"))

    # the villager's words reach the worker; the bot itself says nothing
    out = await runner.send("v1", "我家的低保这个月没发")
    assert out == []
    assert (await texts(runner, "tg-wang"))[-1] == f"#{h.id}【李秀英】我家的低保这个月没发"
    # the worker's words reach the villager, signed
    out = await runner.send("tg-wang", "您好，我帮您查一下", channel="telegram")
    assert out == []
    assert (await texts(runner, "v1"))[-1] == "【社工王芳】您好，我帮您查一下"
    assert (await handoff(runner, h.id)).first_reply_at is not None

    out = await runner.send("tg-wang", "备注 老人卧床，家里困难", channel="telegram")
    assert "备注" in out[0].text
    out = await runner.send("tg-wang", "回复 材料", channel="telegram")
    assert (await texts(runner, "v1"))[-1] == "【社工王芳】李秀英您好，东坡村办低保请带户口本。"
    out = await runner.send("tg-wang", "个案", channel="telegram")
    assert "已关联个案 XZ-" in out[0].text
    out = await runner.send("tg-wang", "状态 处理中", channel="telegram")
    assert "社工正在办理" in out[0].text
    assert "社工正在办理" in (await texts(runner, "v1"))[-1]  # the villager is told, as for any case
    out = await runner.send("tg-wang", "关注 因病返贫风险", channel="telegram")
    assert "防返贫" in out[0].text
    out = await runner.send("tg-wang", "队列", channel="telegram")
    assert "队列是空的" in out[0].text
    out = await runner.send("tg-wang", "帮助", channel="telegram")
    assert "接 N /claim N" in out[0].text and "上班 / 下班" in out[0].text

    out = await runner.send("tg-wang", "结束 已告知办理材料", channel="telegram")
    assert "已结束" in out[0].text
    assert (await texts(runner, "v1"))[-1].endswith("这次帮到您了吗？1 满意 2 一般 3 不满意")
    out = await runner.send("v1", "1")
    assert "谢谢您的评价" in out[0].text
    closed = await handoff(runner, h.id)
    assert (closed.status, closed.satisfaction, closed.outcome) == ("closed", 1, "已告知办理材料")
    # back with the bot: it answers again
    out = await runner.send("v1", "低保怎么申请")
    assert out and any("低保" in o.text for o in out)

    async with runner.services.db.session() as s:
        actions = [a for a, t in (await s.execute(select(AuditEntry.action, AuditEntry.target))).all()
                   if t in (f"handoff:{h.id}", f"person:{pid}")]
        notes = (await s.execute(select(HandoffNote.text))).scalars().all()
        person = await s.get(Person, pid)
    assert {"handoff.claim", "handoff.message", "handoff.note", "handoff.case", "handoff.status", "person.flag",
            "handoff.close", "handoff.satisfaction"} <= set(actions)
    assert notes == ["老人卧床，家里困难"] and not any("卧床" in t for t in await texts(runner, "v1"))
    watch = (await flags_of_person(runner, pid))
    assert [(f.kind, f.reason) for f in watch] == [("return_to_poverty_watch", "因病返贫风险")]


async def test_a_worker_outside_the_area_can_neither_claim_nor_read(runner):
    await link(runner, "chenjie", "tg-chen")  # Xipo only
    await villager(runner, "v2", "东坡村")
    h = await open_handoff(runner, "v2")
    out = await runner.send("tg-chen", f"接 {h.id}", channel="telegram")
    assert "找不到求助" in out[0].text
    assert (await handoff(runner, h.id)).status == "waiting"
    out = await runner.send("tg-chen", "队列", channel="telegram")
    assert f"#{h.id}" not in out[0].text and "李秀英" not in out[0].text
    out = await runner.send("tg-chen", f"/switch {h.id}", channel="telegram")
    assert "找不到求助" in out[0].text


async def test_first_claim_wins_and_the_others_are_told_who_took_it(runner):
    await link(runner, "wangfang", "tg-wang")
    await link(runner, "liuzhan", "tg-liu")  # the township's supervisor
    await villager(runner, "v3")
    h = await open_handoff(runner, "v3")
    assert any(f"#{h.id}" in t for t in await texts(runner, "tg-wang"))  # the village's worker first
    out = await runner.send("tg-liu", f"/claim {h.id}", channel="telegram")
    assert "您认领了" in out[0].text
    assert (await texts(runner, "tg-wang"))[-1].startswith(f"#{h.id} 已由刘建国认领")
    out = await runner.send("tg-wang", f"接 {h.id}", channel="telegram")
    assert f"#{h.id} 已由刘建国认领" in out[0].text


async def test_a_handoff_without_a_village_goes_to_the_township_queue(runner):
    await link(runner, "wangfang", "tg-wang")
    await link(runner, "liuzhan", "tg-liu")
    await villager(runner, "v9", None)
    h = await open_handoff(runner, "v9")
    assert h.village_id is None
    assert any(f"#{h.id}" in t for t in await texts(runner, "tg-liu"))
    # the township's workers serve its queue too (the demo's one township holds every village)
    assert any(f"#{h.id}" in t for t in await texts(runner, "tg-wang"))


async def test_an_emergency_during_a_claimed_handoff_still_shows_the_hotlines(runner):
    await link(runner, "wangfang", "tg-wang")
    await villager(runner, "v4")
    h = await open_handoff(runner, "v4")
    await runner.send("tg-wang", f"/claim {h.id}", channel="telegram")
    out = await runner.send("v4", "我不想活了")
    assert out and "12356" in out[0].text and "110" in out[0].text  # hotlines first
    assert any(t.startswith(f"⚠ #{h.id}") and "我不想活了" in t for t in await texts(runner, "tg-wang"))
    assert (await handoff(runner, h.id)).priority == "emergency"


async def test_escalation_honest_word_and_no_reply_return_by_the_clock(runner):
    await link(runner, "wangfang", "tg-wang")
    await link(runner, "chenjie", "tg-chen")
    await villager(runner, "v5")
    start = runner.now
    h = await open_handoff(runner, "v5")
    assert not [t for t in await texts(runner, "tg-chen") if f"#{h.id}" in t]

    runner.now = start + timedelta(minutes=29)
    await claim_and_run_timers(runner.services, claimer="test")
    assert (await handoff(runner, h.id)).escalated_at is None
    runner.now = start + timedelta(minutes=31)  # normal: 30 working minutes
    await claim_and_run_timers(runner.services, claimer="test")
    assert (await handoff(runner, h.id)).escalated_at is not None
    assert any(f"#{h.id}" in t and "超过 30 分钟无人认领" in t for t in await texts(runner, "tg-chen"))

    runner.now = start + timedelta(minutes=61)
    await claim_and_run_timers(runner.services, claimer="test")
    told = (await texts(runner, "v5"))[-1]
    assert "社工现在都忙" in told and "110" in told and "周一到周五 08:30–17:30" in told
    assert (await handoff(runner, h.id)).status == "waiting"  # still open

    await runner.send("tg-wang", f"接 {h.id}", channel="telegram")
    await runner.send("v5", "还在吗")
    runner.now += timedelta(minutes=14)
    await claim_and_run_timers(runner.services, claimer="test")
    assert (await handoff(runner, h.id)).status == "claimed"
    runner.now += timedelta(minutes=2)  # 16 minutes without an answer
    await claim_and_run_timers(runner.services, claimer="test")
    back = await handoff(runner, h.id)
    assert back.status == "waiting" and back.claimed_by_staff_id is None
    assert any("已放回队列" in t for t in await texts(runner, "tg-wang"))
    # back in the queue, its escalation clock runs again
    pages = lambda ts: [t for t in ts if "超过 30 分钟无人认领" in t]  # noqa: E731
    before = len(pages(await texts(runner, "tg-chen")))
    runner.now += timedelta(minutes=31)
    await claim_and_run_timers(runner.services, claimer="test")
    assert len(pages(await texts(runner, "tg-chen"))) == before + 1


async def test_an_answered_message_does_not_return_the_handoff(runner):
    await link(runner, "wangfang", "tg-wang")
    await villager(runner, "v6")
    h = await open_handoff(runner, "v6")
    await runner.send("tg-wang", f"接 {h.id}", channel="telegram")
    await runner.send("v6", "在吗")
    runner.now += timedelta(minutes=5)
    await runner.send("tg-wang", "在的，请说", channel="telegram")
    runner.now += timedelta(minutes=20)
    await claim_and_run_timers(runner.services, claimer="test")
    assert (await handoff(runner, h.id)).status == "claimed"


async def test_a_worker_on_two_messengers_is_notified_once_on_the_one_used_last(runner):
    await link(runner, "wangfang", "tg-wang")
    await link(runner, "wangfang", "wx-wang", channel="wechat")
    await runner.send("wx-wang", "队列", channel="wechat")  # WeChat used last
    await villager(runner, "v7")
    h = await open_handoff(runner, "v7")
    wx = [t for t in await texts(runner, "wx-wang") if f"#{h.id}" in t]
    assert len(wx) == 1 and f"回复“接 {h.id}”认领" in wx[0]
    assert not [t for t in await texts(runner, "tg-wang") if f"#{h.id}" in t]
    out = await runner.send("wx-wang", f"接 {h.id}", channel="wechat")
    assert "您认领了" in out[0].text


async def test_duty_off_stops_offers_until_the_next_shift_and_on_brings_them_back(runner):
    await link(runner, "wangfang", "tg-wang")
    out = await runner.send("tg-wang", "下班", channel="telegram")
    assert "已下班" in out[0].text and "18:00" in out[0].text
    await villager(runner, "v8")
    h = await open_handoff(runner, "v8")
    assert not [t for t in await texts(runner, "tg-wang") if f"#{h.id}" in t]
    async with runner.services.db.session() as s:
        wang = (await s.execute(select(Staff).where(Staff.username == "wangfang"))).scalar_one()
        assert wang.duty_override == "off"
    out = await runner.send("tg-wang", "/queue", channel="telegram")  # off duty, still sees the queue
    assert f"#{h.id}" in out[0].text
    out = await runner.send("tg-wang", f"接 {h.id}", channel="telegram")
    assert "您认领了" in out[0].text


async def test_a_linked_identity_of_a_deactivated_worker_talks_to_the_bot(runner):
    await link(runner, "wangfang", "tg-wang")
    async with runner.services.db.session() as s:
        await s.execute(update(Staff).where(Staff.username == "wangfang").values(active=False))
    out = await runner.send("tg-wang", "队列", channel="telegram")
    assert out and "队列是空的" not in out[0].text
    async with runner.services.db.session() as s:
        ident = (await s.execute(select(ChannelIdentity).where(ChannelIdentity.external_id == "tg-wang"))).scalar_one()
        conv = (await s.execute(select(Conversation).where(Conversation.person_id == ident.person_id))).scalar_one()
    assert conv.mode == "bot"


async def test_out_of_hours_the_message_waits_for_the_first_shift(runner):
    from datetime import datetime, timezone

    await link(runner, "wangfang", "tg-wang")
    await villager(runner, "v10")
    runner.now = datetime(2026, 3, 7, 13, 0, tzinfo=timezone.utc)  # Saturday 21:00 in China
    out = await runner.send("v10", "转人工")
    assert "下班" in out[0].text
    out = await runner.send("v10", "家里屋顶漏水了，想请人来看看")
    assert "留言收到了" in out[-1].text
    pid = await runner.person_id("rest", "v10")
    async with runner.services.db.session() as s:
        h = (await s.execute(select(Handoff).where(Handoff.person_id == pid))).scalar_one()
    assert not [t for t in await texts(runner, "tg-wang") if f"#{h.id}" in t]
    runner.now = datetime(2026, 3, 8, 23, 59, tzinfo=timezone.utc)  # Monday 07:59
    await claim_and_run_timers(runner.services, claimer="test")
    assert not [t for t in await texts(runner, "tg-wang") if f"#{h.id}" in t]
    runner.now = datetime(2026, 3, 9, 0, 1, tzinfo=timezone.utc)  # Monday 08:01: Wang Fang's shift
    await claim_and_run_timers(runner.services, claimer="test")
    offered = [t for t in await texts(runner, "tg-wang") if f"#{h.id}" in t]
    assert len(offered) == 1 and "屋顶漏水" in offered[0]
    # the escalation counted working minutes only: not due at 08:01 on Monday
    assert (await handoff(runner, h.id)).escalated_at is None


async def test_a_closing_status_from_the_messenger_waits_for_a_required_approval(runner):
    """Where the township requires approval (storage/approvals.py), the worker's "状态 结案" is
    refused with a pointer to the close with an outcome; the case stays open."""
    from storage.models import NeedRequest

    await link(runner, "wangfang", "tg-wang")
    await villager(runner, "v9")
    h = await open_handoff(runner, "v9")
    async with runner.services.db.session() as s:
        await s.execute(update(Area).where(Area.level == "township").values(approvals_required=True))
    await runner.send("tg-wang", "认领 Claim", payload=f"/claim {h.id}", channel="telegram")
    await runner.send("tg-wang", "个案", channel="telegram")
    out = await runner.send("tg-wang", "状态 结案", channel="telegram")
    assert "审批" in out[0].text
    async with runner.services.db.session() as s:
        case = await s.get(NeedRequest, (await handoff(runner, h.id)).case_id)
        assert case.status not in ("resolved", "closed")
