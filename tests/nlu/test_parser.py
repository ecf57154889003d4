from datetime import datetime

import pytest

from nlu.parser import INTENTS, NLU

NOW = datetime(2026, 3, 2, 10, 0)  # a Monday


def test_parse_result_has_rasas_shape(nlu):
    result = nlu.parse("低保怎么申请", now=NOW)
    assert set(result) == {"text", "intent", "entities", "intent_ranking", "emergency"}  # + the emergency level
    assert result["text"] == "低保怎么申请"
    assert set(result["intent"]) == {"name", "confidence"}
    assert result["intent_ranking"][0]["name"] == result["intent"]["name"]
    for entity in result["entities"]:
        assert set(entity) == {"entity", "value", "start", "end", "confidence", "extractor"}


@pytest.mark.parametrize(
    "text, intent",
    [
        ("俺家娃读职高能领补助不", "ask_policy"),
        ("孩子学费交不起", "report_need"),
        ("我申请的低保咋样了", "check_status"),
        ("最近村里有啥活动", "list_activities"),
        ("取消报名", "cancel_signup"),
        ("转人工", "request_human"),
        ("要得", "affirm"),
        ("莫得", "deny"),
        ("在吗", "greet"),
        ("thank you", "thanks"),
    ],
)
def test_intents(nlu, text, intent):
    assert nlu.parse(text, now=NOW)["intent"]["name"] == intent


def test_every_contract_intent_is_learnt(nlu):
    assert set(nlu.model.labels) == set(INTENTS)


def test_policy_synonyms_with_offsets_into_the_original_text(nlu):
    text = "五保戶咋申請？？"  # traditional characters and full-width punctuation
    result = nlu.parse(text, now=NOW)
    [policy] = [e for e in result["entities"] if e["entity"] == "policy"]
    assert policy["value"] == "tekun"
    assert text[policy["start"] : policy["end"]] == "五保戶"


@pytest.mark.parametrize("text, surface, value", [
    ("Linshi Jiuzhu who can apply, need bring what", "Linshi Jiuzhu", "linshi_jiuzhu"),
    ("my grandpa want yanglaojin, start from which age", "yanglaojin", "yanglao_baoxian"),
])
def test_pinyin_policy_names_are_policies(nlu, text, surface, value):
    """Non-native English writers name policies in pinyin (intents12, issue 13)."""
    result = nlu.parse(text, now=NOW)
    [policy] = [e for e in result["entities"] if e["entity"] == "policy"]
    assert policy["value"] == value and text[policy["start"] : policy["end"]] == surface
    assert result["intent"]["name"] == "ask_policy"


def test_phone_number_and_date_entities(nlu):
    text = "明天下午3点 电话 138-1234-5678 两个人"
    entities = {e["entity"]: e for e in nlu.parse(text, now=NOW)["entities"]}
    assert entities["time"]["value"] == "2026-03-03T15:00:00+08:00"
    assert text[entities["time"]["start"] : entities["time"]["end"]] == "明天下午3点"
    assert entities["phone"]["value"] == "13812345678"
    assert entities["number"]["value"] == 2


def test_gazetteer_values_are_ids_as_strings(gazetteer_nlu):
    text = "我是张家村的 想报名电商陪训"
    entities = {e["entity"]: e for e in gazetteer_nlu.parse(text, now=NOW)["entities"]}
    assert entities["village"]["value"] == "3"
    assert entities["activity"]["value"] == "14"  # 电商陪训 is a typo for 电商培训
    assert text[entities["activity"]["start"] : entities["activity"]["end"]] == "电商陪训"


def test_empty_text_falls_back(nlu):
    assert nlu.parse("   ")["intent"]["name"] == "nlu_fallback"


def test_low_confidence_falls_back(nlu_cache):
    strict = NLU.load(nlu_cache, threshold=0.999)
    assert strict.parse("这个那个")["intent"]["name"] == "nlu_fallback"


def test_emergency_overrides_the_classifier(nlu):
    result = nlu.parse("你好 我家着火了快来人")
    assert result["intent"]["name"] == "emergency"


def test_model_is_loaded_from_the_cache_the_second_time(nlu_cache, nlu):
    again = NLU.load(nlu_cache)
    assert again.trained.from_cache
    assert again.trained.key == nlu.trained.key
    assert again.parse("低保怎么申请") == nlu.parse("低保怎么申请")


def test_parse_is_safe_from_many_threads(nlu):
    from concurrent.futures import ThreadPoolExecutor

    texts = ["低保怎么申请", "我不想活了", "取消报名", "明天有活动吗"] * 25
    expected = [nlu.parse(t, now=NOW) for t in texts]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(lambda t: nlu.parse(t, now=NOW), texts))
    assert got == expected


def test_gazetteer_does_not_match_a_different_short_name(gazetteer_nlu):
    entities = gazetteer_nlu.parse("巧娘们好 王家村的")["entities"]
    assert not [e for e in entities if e["entity"] in ("activity", "village")]
