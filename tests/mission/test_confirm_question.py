"""The confirming question through the REST channel (HTTP), the real NLU, flow runtime and
mission actions over the demo data: a message whose best intent lies between CONFIRM_FLOOR and
INTENT_THRESHOLD (nlu/confidence.py) gets "您是想…吗？1 是 2 不是"; "1" or "是" starts that flow
with the message kept, "2" gets the menu, and a new message instead is handled as one.

The messages were picked by measuring them with the trained model; each test first asserts
that their confidence still lies in the band, so a model change fails here loudly."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from nlu.confidence import CONFIRMABLE, CONFIRM_FLOOR, CONFIRM_MARGIN, INTENT_THRESHOLD
from storage.models import ChannelIdentity, Conversation
from tests.support import running

WEBHOOK = "/webhooks/rest/webhook"
NEED = "邻居把我家的墙推倒了"  # report_need, about 0.44
HUMAN = "有个事想说"  # request_human, about 0.35
TWO = "想学点手艺"  # report_need about 0.38, join_activity about 0.35: both offered


def _ranking(runner, text: str) -> list[tuple[str, float]]:
    parse = runner.services.nlu.parse(text)
    assert parse["emergency"]["level"] == "none", parse["emergency"]
    return [(r["name"], r["confidence"]) for r in parse["intent_ranking"] if r["name"] != "nlu_fallback"]


def _in_band(runner, text: str, intent: str) -> None:
    """`intent` first, in the band, and nothing close behind it that could be offered too."""
    (best, p), (second, p2) = _ranking(runner, text)[:2]
    assert best == intent and CONFIRM_FLOOR <= p < INTENT_THRESHOLD, (text, best, p)
    assert second not in CONFIRMABLE or p - p2 > CONFIRM_MARGIN, (text, second, p2)


async def _say(client, sender: str, text: str, n: list[int] = [0]) -> list[dict]:
    n[0] += 1
    resp = await client.post(WEBHOOK, json={"sender": sender, "message": text, "metadata": {"message_id": f"{sender}-{n[0]}"}})
    assert resp.status_code == 200
    return resp.json()


async def _conversation(runner, sender: str) -> Conversation:
    async with runner.services.db.session() as s:
        pid = (await s.execute(select(ChannelIdentity.person_id).where(ChannelIdentity.external_id == sender))).scalar_one()
        return (await s.execute(select(Conversation).where(Conversation.person_id == pid))).scalar_one()


async def _consented(client, sender: str) -> None:
    for text in ("你好", "1", "1"):  # the welcome, consent given
        await _say(client, sender, text)


@pytest.mark.parametrize("answer", ["1", "是", "对的"])
async def test_yes_starts_the_need_intake_with_the_message_kept(runner, answer):
    _in_band(runner, NEED, "report_need")
    async with running(runner.services, extensions=()) as client:
        await _consented(client, "c1")
        [question] = await _say(client, "c1", NEED)
        assert question["text"] == "您是想反映困难、求助吗？"
        assert [b["title"] for b in question["buttons"]] == ["是", "不是"]
        assert (await _conversation(runner, "c1")).flow_id is None
        replies = await _say(client, "c1", answer)
    assert "没听懂" not in replies[0]["text"]
    conv = await _conversation(runner, "c1")
    assert conv.flow_id == "need_request"
    assert conv.slots.get("first_message") == NEED  # the original message, not "1"


@pytest.mark.parametrize("answer", ["2", "不是"])
async def test_no_gets_the_menu(runner, answer):
    _in_band(runner, HUMAN, "request_human")
    async with running(runner.services, extensions=()) as client:
        await _consented(client, "c2")
        [question] = await _say(client, "c2", HUMAN)
        assert question["text"] == "您是想找社工吗？"
        replies = await _say(client, "c2", answer)
    assert replies[-1]["text"].startswith("我能帮您做这些")
    assert "我要求助" in [b["title"] for b in replies[-1]["buttons"]]
    conv = await _conversation(runner, "c2")
    assert conv.mode != "human" and "confirm" not in conv.state


async def test_a_new_message_instead_of_an_answer_is_handled_as_one(runner):
    _in_band(runner, HUMAN, "request_human")
    async with running(runner.services, extensions=()) as client:
        await _consented(client, "c3")
        await _say(client, "c3", HUMAN)
        replies = await _say(client, "c3", "有什么活动")  # not an answer: the activities
        assert "confirm" not in (await _conversation(runner, "c3")).state
        assert (await _conversation(runner, "c3")).flow_id == "activities"
        again = await _say(client, "c3", "1")  # "1" now picks from the activities, not the question
    assert all("社工" not in r["text"] for r in replies + again)


async def test_two_close_intents_are_offered_as_one_two_and_neither(runner):
    (best, p), (second, p2) = _ranking(runner, TWO)[:2]
    assert (best, second) == ("report_need", "join_activity") and CONFIRM_FLOOR <= p < INTENT_THRESHOLD, (best, p)
    assert p - p2 <= CONFIRM_MARGIN, (second, p, p2)
    async with running(runner.services, extensions=()) as client:
        await _consented(client, "c4")
        [question] = await _say(client, "c4", TWO)
        assert question["text"] == "您是想反映困难、求助，还是报名参加活动？"
        assert [b["title"] for b in question["buttons"]] == ["反映困难、求助", "报名参加活动", "都不是"]
        await _say(client, "c4", "2")
    assert (await _conversation(runner, "c4")).flow_id == "activities"


async def test_an_emergency_never_gets_the_question(runner):
    async with running(runner.services, extensions=()) as client:
        await _consented(client, "c5")
        replies = await _say(client, "c5", "救命 房子着火了")
    assert not any("您是想" in r["text"] for r in replies)
