"""Policy search from a situation through the REST channel (HTTP), the real NLU, policy flow
and demo database: a villager names the household's status beside a need, or tells of a
sudden shock, a fall back into poverty or a left-behind child, in Mandarin, Cantonese or
English, and the first reply is the policy that covers the need (docs/nlu.md, "Policy
search, second round")."""
from __future__ import annotations

import pytest

from tests.support import running

WEBHOOK = "/webhooks/rest/webhook"

SITUATIONS = [
    # the status (低保户, 脱贫户) is who asks; the need decides
    ("zh", "俺们是低保户 屋顶漏得不行 东墙还裂了条缝 想修修", "危房"),
    ("zh", "我们家是脱贫户 闺女在县职校读护理 有啥补助", "雨露计划"),
    ("zh", "我们是低保户 老公刚办了残疾证 还有啥补贴能领", "残疾人两项补贴"),
    # a sudden shock that emptied the household, not the medical detail
    ("zh", "老爹突然过世 办丧事把家里存的钱都花光了 现在吃饭都难", "临时救助"),
    # formerly poor, income fell now
    ("zh", "前几年脱的贫 今年男人厂子倒闭失业了 收入一下子没了", "防止返贫"),
    # Cantonese, traditional characters: parents away, grandmother ill
    ("zh", "阿爸阿媽喺廣東打工 細佬同阿嫲住 阿嫲病咗 冇人煮飯", "留守儿童"),
    ("en", "we were poor household before, now my son study in vocational college, any help?", "Yulu"),
]


async def _say(client, sender: str, text: str, n: list[int] = [0]) -> list[dict]:
    n[0] += 1
    resp = await client.post(WEBHOOK, json={"sender": sender, "message": text,
                                            "metadata": {"message_id": f"{sender}-{n[0]}"}})
    assert resp.status_code == 200
    return resp.json()


@pytest.mark.parametrize("locale, situation, title", SITUATIONS)
async def test_a_situation_over_rest_gets_the_policy_for_the_need_first(runner, locale, situation, title):
    sender = f"kb-{abs(hash(situation)) % 10**8}"
    async with running(runner.services, extensions=()) as client:
        if locale == "en":
            for text in ("hello", "2", "1"):  # English, consent given
                await _say(client, sender, text)
        await _say(client, sender, "/policy")  # "您想问哪个政策？"
        replies = await _say(client, sender, situation)
    heading = replies[0]["text"].splitlines()[0]  # 【the policy's title】its summary
    assert heading.startswith("【") and title in heading.split("】")[0], replies[0]["text"]
