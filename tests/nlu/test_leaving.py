"""Leaving told loosely (issue 13): the NLU says leave_unclear only when the message does not
say whether it is about the messages, an activity or the person's data."""
import pytest

from nlu.evaluation import evaluate
from nlu.training_data import Example


@pytest.mark.parametrize("text", ["我不想弄了", "把我的东西都删了", "退出", "我不用这个了", "i want to quit this"])
def test_a_loose_leaving_is_unclear(nlu, text):
    result = nlu.parse(text)
    assert result["intent"]["name"] == "leave_unclear"
    assert result["intent_ranking"][1]["name"] in ("stop", "cancel_signup")  # what the model read


@pytest.mark.parametrize("text, intent", [
    ("别给我发了", "stop"), ("以后不要再推送通知了", "stop"), ("stop sending me messages", "stop"),
    ("报的那个课我不参加了", "cancel_signup"), ("帮我把活动的报名取消", "cancel_signup"),
])
def test_a_clear_leaving_keeps_its_intent(nlu, text, intent):
    assert nlu.parse(text)["intent"]["name"] == intent


def test_other_intents_are_never_unclear(nlu):
    for text in ["你好", "低保怎么申请", "我家房子漏雨了", "谢谢"]:
        assert nlu.parse(text)["intent"]["name"] != "leave_unclear"


def test_evaluation_counts_the_question_as_right_for_stop_and_cancel_signup_only(nlu):
    examples = [Example("我不想弄了", "stop"), Example("我不想弄了", "cancel_signup"), Example("我不想弄了", "goodbye")]
    report = evaluate(nlu.parse, examples)
    assert report["leave_questions"] == 3
    assert report["intent_accuracy"] == round(2 / 3, 4)
    assert report["errors"][0]["predicted"] == "leave_unclear"
