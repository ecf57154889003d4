"""Leaving told loosely (issue 13): the NLU says leave_unclear only when the message does not
say whether it is about the messages, an activity or the person's data."""
import pytest

from nlu import leaving
from nlu.evaluation import evaluate
from nlu.normalize import normalize
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


@pytest.mark.parametrize("text", [
    "说好去学砌墙的 家里来活了 那个名额你们另外安排人", "俺闺女那个唱歌的 她改主意了",
    "my son was down for the saturday match, he changed his mind", "the baking one tomorrow, count me out",
])
def test_a_place_given_up_by_its_reason(text):
    assert leaving.gives_up_a_place(normalize(text))


@pytest.mark.parametrize("text", ["我想去学砌墙 给我报个名", "娃学校不去了 交不起学费", "count me in for the saturday one", "不用了谢谢"])
def test_no_place_is_given_up(text):
    assert not leaving.gives_up_a_place(normalize(text))


def _parse(intent: str, cancel: float) -> dict:
    ranking = [{"name": intent, "confidence": 0.35}, {"name": "cancel_signup", "confidence": cancel}]
    return {"intent": {"name": intent, "confidence": 0.35}, "intent_ranking": ranking,
            "entities": [{"entity": "need_category", "value": "employment"}]}


def test_a_place_given_up_is_cancel_signup_when_the_model_has_it_close_behind():
    text = normalize("说好去学砌墙的 家里来活了 那个名额你们另外安排人")
    result = leaving.mark_unclear(_parse("join_activity", 0.2), text)
    assert result["intent"] == {"name": "cancel_signup", "confidence": leaving.RULE_CONFIDENCE}
    assert result["intent_ranking"][0]["name"] == "cancel_signup"
    assert result["entities"] == []  # a need category belongs to report_need only
    assert leaving.mark_unclear(_parse("join_activity", 0.05), text)["intent"]["name"] == "join_activity"
    assert leaving.mark_unclear(_parse("greet", 0.2), text)["intent"]["name"] == "greet"


@pytest.mark.parametrize("text", ["你们的东西老往我手机上推 别弄了", "too many texts from you, make it stop"])
def test_the_phone_and_texts_name_the_messages(text):
    assert not leaving.unclear(normalize(text), "stop")
