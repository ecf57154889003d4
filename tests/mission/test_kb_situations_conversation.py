"""Policy search from a situation through the real dispatcher, policy flow and NLU over the
demo database (SQLite and PostgreSQL): a villager asked "您想问哪个政策？" answers with what
happened to the household, and gets the policy that covers it."""
from __future__ import annotations

import pytest

from bot.conversation_tests import ConversationTest

SITUATIONS = [
    ("房子漏雨 墙上裂了好大一道缝 晚上都不敢睡", "危房"),
    ("俺爹瘫在床上好几年了 吃喝拉撒全要人伺候", "残疾人两项补贴"),
    ("想养几头牛 手上没本钱 也没啥能抵押的", "小额信贷"),
    # the household's status (低保户) is not what it asks about
    ("我们是低保户 今年的合作医疗那几百块交不起", "医疗救助"),
]


@pytest.mark.parametrize("situation, title", SITUATIONS)
async def test_a_situation_gets_the_policy_that_covers_it(runner, situation, title):
    test = ConversationTest(name=situation, steps=[
        {"press": "/policy", "bot": "您想问哪个政策"},
        {"user": situation, "bot": [f"/【[^】]*{title}[^】]*】.*谁能办/"]},
    ], expect={"handoff_opened": False})
    failures = await runner.run(test)
    assert not failures, "\n".join(str(f) for f in failures)
