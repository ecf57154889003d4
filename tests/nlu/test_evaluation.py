"""The held-out test split must meet issue 4's targets (accuracy, not timing)."""
from nlu.evaluation import evaluate
from nlu.training_data import DATA_DIR, TEST_DIR, load_training_data


def test_test_split_meets_the_targets(nlu):
    test = load_training_data(TEST_DIR / "test.yml", synonyms_from=nlu.data)
    report = evaluate(nlu.parse, test.examples)
    assert report["intent_accuracy"] >= 0.95, report["errors"]
    assert report["intent_macro_f1"] >= 0.95
    assert report["emergency_recall"] == 1.0
    assert report["emergency_recall_by_language"] == {"en": 1.0, "zh": 1.0}
    assert report["emergency_false_positive_rate"] <= 0.01  # pages on non-emergencies
    assert report["safety_question_rate"] <= 0.03
    assert report["entities"]["policy"]["f1"] >= 0.90


def test_test_split_is_never_trained_on(nlu):
    train_texts = {ex.text for ex in load_training_data(DATA_DIR).examples}
    test_texts = {ex.text for ex in load_training_data(TEST_DIR).examples}  # test.yml and challenge.yml
    assert test_texts and not (train_texts & test_texts)
    assert len(nlu.data.examples) == len(load_training_data(DATA_DIR).examples)


def test_training_data_covers_every_intent_in_both_languages(nlu):
    import re

    per_intent: dict[str, list[str]] = {}
    for ex in nlu.data.examples:
        per_intent.setdefault(ex.intent, []).append(ex.text)
    for intent, texts in per_intent.items():
        english = [t for t in texts if not re.search(r"[\u4e00-\u9fff]", t)]
        assert len(texts) - len(english) >= 40, intent
        assert len(english) >= 10, intent


def test_challenge_set_written_independently_meets_its_thresholds(nlu):
    """nlu/data/test/challenge.yml: dialect, typos, pinyin initials, traditional characters,
    emoji, long messages, English — written apart from the training data (docs/nlu.md)."""
    challenge = load_training_data(TEST_DIR / "challenge.yml", synonyms_from=nlu.data)
    report = evaluate(nlu.parse, challenge.examples)
    assert len(challenge.examples) >= 16 * 25
    assert report["intent_accuracy"] >= 0.93, report["errors"]
    assert report["emergency_recall"] == 1.0, report["errors"]
    assert report["emergency_false_positive_rate"] <= 0.01
    assert report["safety_question_rate"] <= 0.03
    assert report["entities"]["policy"]["f1"] >= 0.90


def test_need_category_only_on_hardship_messages(nlu):
    """need_category names the need of a report_need message — one per message — and is not
    extracted from a policy question, an activity question or small talk."""
    for text in ("房子漏雨能申请危房改造不", "之前说帮我修房子的 咋没动静了", "老人能参加啥活动", "今天去镇上看病 人好多"):
        entities = [e for e in nlu.parse(text)["entities"] if e["entity"] == "need_category"]
        assert nlu.parse(text)["intent"]["name"] != "report_need" and entities == [], text
    result = nlu.parse("屋顶漏雨 一下雨屋里就没法住人 求帮忙")
    assert result["intent"]["name"] == "report_need"
    needs = [e["value"] for e in result["entities"] if e["entity"] == "need_category"]
    assert needs == ["housing"]
    result = nlu.parse("我男人在工地上摔断了腿 住院的医药费凑不齐")
    assert [e["value"] for e in result["entities"] if e["entity"] == "need_category"] == ["medical"]


def test_need_category_recall_on_the_test_split_and_the_indirect_needs(nlu):
    """issue 12: needs told through their consequences. test.yml and the indirect-needs
    challenge set (written before the classifier) must both reach 0.85."""
    test = evaluate(nlu.parse, load_training_data(TEST_DIR / "test.yml", synonyms_from=nlu.data).examples)
    assert test["need_category_recall"] >= 0.85 and test["need_examples"] == 29  # 26 + 3 from issue 13
    indirect = load_training_data(TEST_DIR / "needs_indirect.yml", synonyms_from=nlu.data)
    report = evaluate(nlu.parse, indirect.examples)
    assert report["need_examples"] == len(indirect.examples) == 55
    # 0.96 (2026-12-06, after its misses were looked at: optimistic, docs/nlu.md)
    assert report["need_category_recall"] >= 0.85
    assert report["safety_question_rate"] <= 0.03 and report["emergency_false_positive_rate"] == 0
    assert report["need_category_offered_recall"] >= report["need_category_recall"]


def test_a_need_without_a_need_word_gets_its_category_from_the_classifier(nlu):
    result = nlu.parse("俺娘一个人在家 饭都没人做")
    need = [e for e in result["entities"] if e["entity"] == "need_category"]
    assert [e["value"] for e in need] == ["elderly_care"]
    result = nlu.parse("娃开学的钱还差2000块")  # the whole-message category hides no other entity
    assert {e["entity"] for e in result["entities"]} >= {"need_category", "number"}


def test_two_plausible_need_categories_are_both_reported(nlu):
    need = [e for e in nlu.parse("我残疾了找不到活干")["entities"] if e["entity"] == "need_category"]
    assert len(need) == 1 and {need[0]["value"], *need[0]["alternatives"]} == {"employment", "disability"}
    need = [e for e in nlu.parse("我家房子漏雨了")["entities"] if e["entity"] == "need_category"]
    assert need[0]["value"] == "housing" and "alternatives" not in need[0]


def test_need_examples_stay_out_of_the_intent_model_and_the_test_files(nlu):
    from nlu.training_data import need_files

    need_texts = {ex.text for f in need_files() for ex in load_training_data(f).examples}
    assert len(need_texts) >= 200
    assert not need_texts & {ex.text for ex in nlu.data.examples}  # the intent model never sees them
    assert not need_texts & {ex.text for ex in load_training_data(TEST_DIR).examples}


def test_a_cold_house_with_broken_windows_is_housing(nlu):
    need = [e for e in nlu.parse("冬天屋里冷得跟冰窖一样 窗户都是破的")["entities"] if e["entity"] == "need_category"]
    assert need and need[0]["value"] == "housing"
