import pytest

from nlu.emergency import detect


@pytest.mark.parametrize(
    "text, kind",
    [
        ("我不想活了", "self_harm"),
        ("活着没意思 我想去死", "self_harm"),
        ("俺男人喝了农药", "self_harm"),
        ("我不想活了 哈哈", "self_harm"),  # unsure → toward a human
        ("他拿刀要砍我", "violence"),
        ("我家着火了", "fire"),
        ("洪水冲进村了", "flood"),
        ("地震了 房子塌了 有人被压", "disaster"),
        ("我爸晕倒了叫不醒", "medical"),
        ("娃不见了 找了一下午", "missing_child"),
        ("i want to kill myself", "self_harm"),
        ("闺女放学没回来 满村找都没找着", "missing_child"),
        ("屋里火烛呀 快来", "fire"),
        ("you know what, yesterday was fine but today my daughter is missing", "missing_child"),
    ],
)
def test_emergencies_are_detected_inside_any_message(text, kind):
    result = detect(text)
    assert result.is_emergency
    assert kind in result.kinds
    assert result.matched and result.score >= 0.5


@pytest.mark.parametrize(
    "text",
    [
        "我想死你了",  # "I missed you so much"
        "笑死我了",
        "今天热死了",
        "累死了 先不聊了",
        "给我打电话",
        "孩子找不到工作",
        "火锅店在哪",
        "去年发洪水冲了房子 现在还没修好",
        "房子被火烧了能申请临时救助吗",
        "俺娘有高血压 常年吃药",
        "how can you help me",
        "我奶奶眼睛看不见了 要人照顾",  # 看不见 is blindness, not a missing person
        "我妈耳朵听不见了",
        "孩子找了一天工作 没找到",
    ],
)
def test_hard_negatives(text):
    assert not detect(text).is_emergency


def test_parse_keeps_the_joke_out_of_the_emergency_path(nlu):
    assert nlu.parse("我想死你了 好久不见")["intent"]["name"] != "emergency"
    assert nlu.parse("我想死")["intent"]["name"] == "emergency"


def test_a_short_message_the_classifier_barely_knows_is_not_an_emergency(nlu):
    for text in ("妥了", "嗯呐", "好咧"):
        assert nlu.parse(text)["intent"]["name"] != "emergency", text
    for text in ("救命", "着火了", "想死"):
        assert nlu.parse(text)["intent"]["name"] == "emergency", text
