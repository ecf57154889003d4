"""The safety question through the REST channel (HTTP), the real NLU, flow runtime and mission
actions over the demo data, with every staff member's messenger linked so that a page lands
in the outbox: an unsure message is asked about and pages nobody; "2" pages; "1" carries on;
a clear emergency pages at once; in human mode an unsure message goes to the worker marked ⚠."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import ChannelIdentity, Conversation, Handoff, OutboxMessage, Person, Staff
from tests.support import running

WEBHOOK = "/webhooks/rest/webhook"
UNSURE_ZH = "娃的学费交不起 真的熬不下去了"
UNSURE_EN = "I can't take it anymore, we have no money for food"


async def _link_staff(runner) -> set[int]:
    """Every staff member gets a REST identity; returns the ids of the workers on duty."""
    async with runner.services.db.session() as s:
        staff = list((await s.execute(select(Staff))).scalars())
        for st in staff:
            p = Person(display_name=st.username)
            s.add(p)
            await s.flush()
            s.add(ChannelIdentity(channel="rest", external_id=f"staff-{st.username}", person_id=p.id, staff_id=st.id))
        return {st.id for st in staff if {"worker", "supervisor"} & set(st.roles)}


async def _say(client, sender: str, text: str, n: list[int] = [0]) -> list[dict]:
    n[0] += 1
    resp = await client.post(WEBHOOK, json={"sender": sender, "message": text, "metadata": {"message_id": f"{sender}-{n[0]}"}})
    assert resp.status_code == 200
    return resp.json()


async def _state(runner, sender: str) -> tuple[list[Handoff], set[int], Conversation]:
    async with runner.services.db.session() as s:
        pid = (await s.execute(select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == sender))).scalar_one()
        handoffs = list((await s.execute(select(Handoff).where(Handoff.person_id == pid))).scalars())
        paged = set((await s.execute(select(OutboxMessage.staff_id).where(OutboxMessage.kind == "page"))).scalars())
        conv = (await s.execute(select(Conversation).where(Conversation.person_id == pid))).scalar_one()
        return handoffs, paged, conv


async def test_unsure_gets_the_question_and_no_page_then_not_safe_pages_everyone(runner):
    on_duty = await _link_staff(runner)
    async with running(runner.services, extensions=()) as client:
        [question] = await _say(client, "u1", UNSURE_ZH)
        assert question["text"] == "您现在安全吗？"
        assert [b["title"] for b in question["buttons"]] == ["安全", "不安全"]
        handoffs, paged, conv = await _state(runner, "u1")
        assert handoffs == [] and paged == set() and conv.flow_id == "safety_check"

        replies = await _say(client, "u1", "2")
    assert replies[0]["text"].startswith("有危险请马上打电话") and "110" in replies[0]["text"]
    assert any("已通知所有值班社工" in r["text"] for r in replies)
    [handoff], paged, _ = await _state(runner, "u1")
    assert (handoff.reason, handoff.priority) == ("emergency", "emergency")
    assert paged == on_duty


async def test_safe_carries_on_with_the_message_and_pages_nobody(runner):
    await _link_staff(runner)
    async with running(runner.services, extensions=()) as client:
        for text in ("hello", "2", "1"):  # English, consent given
            await _say(client, "u2", text)
        [question] = await _say(client, "u2", UNSURE_EN)
        assert question["text"] == "Are you safe right now?"
        replies = await _say(client, "u2", "1")
    assert replies[0]["text"] == "OK." and replies[1]["text"].startswith("Is this about")  # the need flow
    handoffs, paged, conv = await _state(runner, "u2")
    assert handoffs == [] and paged == set() and conv.flow_id == "need_request"


async def test_a_clear_emergency_pages_at_once(runner):
    on_duty = await _link_staff(runner)
    async with running(runner.services, extensions=()) as client:
        replies = await _say(client, "u3", "I am going to kill myself tonight")
    assert replies[0]["text"].startswith("If anyone is in danger, call now") and "12356" in replies[0]["text"]
    assert not any("safe right now" in r["text"] for r in replies)
    [handoff], paged, _ = await _state(runner, "u3")
    assert (handoff.reason, handoff.priority) == ("emergency", "emergency") and paged == on_duty


async def test_in_human_mode_an_unsure_message_goes_to_the_worker_marked(runner):
    async with running(runner.services, extensions=()) as client:
        for text in ("你好", "1", "1", "转人工"):
            await _say(client, "u4", text)
        [handoff], _, conv = await _state(runner, "u4")
        assert conv.mode == "human" and handoff.priority == "normal"
        async with runner.services.db.session() as s:
            worker = (await s.execute(select(Staff).where(Staff.username == "li"))).scalar_one_or_none() or \
                (await s.execute(select(Staff))).scalars().first()
            p = Person(display_name="worker")
            s.add(p)
            await s.flush()
            s.add(ChannelIdentity(channel="telegram", external_id="tg-worker", person_id=p.id, staff_id=worker.id))
            row = await s.get(Handoff, handoff.id)
            row.status, row.claimed_by_staff_id = "claimed", worker.id
        replies = await _say(client, "u4", UNSURE_ZH)
    assert replies == []  # the worker answers, not the bot
    async with runner.services.db.session() as s:
        relay = (await s.execute(select(OutboxMessage).where(OutboxMessage.kind == "relay"))).scalar_one()
    assert relay.text.startswith("⚠ ") and UNSURE_ZH in relay.text and relay.recipient == "tg-worker"
    [handoff], paged, _ = await _state(runner, "u4")
    assert handoff.priority == "normal" and paged == set()


async def test_a_past_disaster_told_as_a_need_gets_no_question_and_pages_nobody(runner):
    """Eighth round (b): a landslide of last year that cut the road is a need, not a danger now
    (it paged every worker before)."""
    await _link_staff(runner)
    async with running(runner.services, extensions=()) as client:
        replies = await _say(client, "u9", "上年山泥倾泻 条路断咗 啲菜运唔出去 想问下有冇人帮手")
    assert replies and not any("安全吗" in r.get("text", "") or "有危险请马上打电话" in r.get("text", "") for r in replies)
    handoffs, paged, conv = await _state(runner, "u9")
    assert handoffs == [] and paged == set() and conv.flow_id != "safety_check"
