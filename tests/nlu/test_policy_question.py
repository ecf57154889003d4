"""A situation told first and a question about what help exists last is ask_policy (the GUIDE's
boundary, intents14 2026-12-07); a situation that asks to be helped stays a need."""
import pytest

from nlu.normalize import normalize
from nlu.policy_question import asks_about_help


@pytest.mark.parametrize("text", [
    "老两口都七十多了 没个儿女 有没有照顾我们这样的",
    "灶房的梁裂了 修不起 这个该找哪个部门",
    "娃跟着奶奶过 爹妈常年在外 上头管不管这种娃",
    "一辈子种地没交过养老钱 是不是啥都落不着",
    "we are old and have no children, is there anything for people like us",
    "my shed roof came down in the storm, who do we turn to",
    "i only ever farmed, will i get nothing when i am old",
])
def test_a_question_about_help_for_my_situation(text):
    assert asks_about_help(normalize(text))


@pytest.mark.parametrize("text", [
    "老两口都七十多了 没个儿女 求你们帮帮我们",        # asks to be helped
    "灶房的梁裂了 麻烦派个人来看看",
    "晚上睡不着 心里闷 能找谁聊聊",                    # someone to talk to: a need
    "村里最近有啥活动没",                              # activities, not help
    "my roof came down in the storm, please help us",
    "my father is 80 and lives alone",
])
def test_a_need_or_another_question_is_not(text):
    assert not asks_about_help(normalize(text))


def test_the_parser_reads_the_closing_question_as_a_policy_question(nlu):
    result = nlu.parse("屋后那面墙裂了一条大缝 翻修又没钱 像我们这种人家上头管不管")
    assert result["intent"]["name"] == "ask_policy"
    assert result["intent"]["confidence"] >= 0.5  # flows start by intent only at 0.5 (flows/runtime.py)
    assert result["intent_ranking"][0]["name"] == "ask_policy"
    assert not [e for e in result["entities"] if e["entity"] == "need_category"]  # a policy question has none


def test_a_need_that_asks_for_help_is_left_to_the_model(nlu):
    text = "屋后那面墙裂了一条大缝 翻修又没钱 麻烦派个人来看看"
    assert not asks_about_help(normalize(text))
    assert nlu.parse(text)["intent"]["name"] == "report_need"
