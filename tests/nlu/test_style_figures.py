"""Floors on the held-out style sets (issue 13, measured 2026-12-06 in docs/nlu.md): a change
to the data or the model that loses what was reached — above all emergency recall — fails
here. Raise the floors when the figures rise."""
import pytest

from nlu.evaluation import evaluate
from nlu.training_data import TEST_DIR, load_training_data

# style: (accuracy, emergency recall, need category recall), at or a little under the figures
# measured after the second round of data (2026-12-06); accuracy at the 0.95 target
FLOORS = {
    "beifang": (0.95, 1.0, 0.90),
    "en_nonnative": (0.95, 1.0, 0.85),
    "indirect": (0.95, 1.0, 0.75),
    "runon": (0.95, 1.0, 0.90),
    "typos": (0.95, 1.0, 0.85),
    "xinan": (0.95, 1.0, 0.85),
    "yue_hakka": (0.95, 1.0, 0.90),
}
SAFETY_QUESTIONS = 0.03  # at most this share of non-emergencies gets the safety question


@pytest.mark.parametrize("style", sorted(FLOORS))
def test_style_set_keeps_its_figures(nlu, style):
    report = evaluate(nlu.parse, load_training_data(TEST_DIR / "styles" / f"{style}.yml", synonyms_from=nlu.data).examples)
    accuracy, recall, needs = FLOORS[style]
    assert report["intent_accuracy"] >= accuracy
    assert report["emergency_recall"] >= recall
    assert report["need_category_recall"] >= needs
    assert report["safety_question_rate"] <= SAFETY_QUESTIONS


def test_every_style_file_has_a_floor():
    assert sorted(p.stem for p in (TEST_DIR / "styles").glob("*.yml")) == sorted(FLOORS)


def test_the_emergency_dev_set_reaches_a_human_every_time(nlu):
    """nlu/data/test/emergency_dev.yml (third round): emergencies told by the scene, a plan or
    a farewell in 粤/客家, non-native English and indirect Mandarin. A development set (the rules
    were written knowing it), so this is a floor against losing it, not a fair figure."""
    report = evaluate(nlu.parse, load_training_data(TEST_DIR / "emergency_dev.yml", synonyms_from=nlu.data).examples)
    assert report["emergency_recall"] == 1.0
    assert report["emergency_false_positive_rate"] == 0.0


def test_the_nlu4_dev_sets_hold(nlu):
    """nlu/data/test/dev4_emergency.yml and dev4_needs.yml (fourth round, 2026-12-06): emergencies
    told indirectly with their look-alikes, and needs told by their consequence. Development sets
    (their misses were fixed as classes), so floors against losing them, not fair figures."""
    emergencies = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev4_emergency.yml", synonyms_from=nlu.data).examples)
    assert emergencies["emergency_recall"] == 1.0
    assert emergencies["emergency_false_positive_rate"] == 0.0 and emergencies["safety_question_rate"] <= 0.03
    needs = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev4_needs.yml", synonyms_from=nlu.data).examples)
    assert needs["need_category_recall"] >= 0.9 and needs["emergency_false_positive_rate"] == 0.0
    assert needs["safety_question_rate"] <= 0.03


def test_the_nlu5_dev_sets_hold(nlu):
    """nlu/data/test/dev5_emergency.yml and dev5_needs.yml (fifth round, 2026-12-07): emergencies
    told by their meaning (a plan, a farewell, a means at hand, "after tonight") with look-alikes,
    and 88 needs told by their consequence, written before the round's changes. Development sets,
    so floors against losing them, not fair figures. Need recall measured 0.909 (2026-12-07, after
    the concept lexicon was removed; 0.943 with it): the floor sits just under that."""
    emergencies = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev5_emergency.yml", synonyms_from=nlu.data).examples)
    assert emergencies["emergency_recall"] == 1.0
    assert emergencies["emergency_false_positive_rate"] == 0.0
    needs = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev5_needs.yml", synonyms_from=nlu.data).examples)
    assert needs["need_category_recall"] >= 0.90 and needs["emergency_false_positive_rate"] == 0.0


@pytest.mark.parametrize("name, accuracy", [("dev11_en_intents", 0.92), ("dev11_indirect_intents", 0.89)])
def test_the_intents12_dev_sets_hold(nlu, name, accuracy):
    """nlu/data/test/dev11_en_intents.yml and dev11_indirect_intents.yml (twelfth round, issue 13,
    2026-12-07): every intent but emergency in non-native English and said without its keyword,
    written before the round's training lines. Measured 0.868 → 0.923 and 0.840 → 0.893 (main →
    intents12); development sets, so floors against losing them, not fair figures."""
    report = evaluate(nlu.parse, load_training_data(TEST_DIR / f"{name}.yml", synonyms_from=nlu.data).examples)
    assert report["intent_accuracy"] >= accuracy
    assert report["safety_question_rate"] <= SAFETY_QUESTIONS


@pytest.mark.parametrize("name, accuracy", [("dev12_indirect", 0.90), ("dev11_indirect_intents", 0.93)])
def test_the_intents13_indirect_sets_hold(nlu, name, accuracy):
    """nlu/data/test/dev12_indirect.yml (fourteenth round, issue 13, 2026-12-07): 105 intents said
    without their keyword by the situation around them (dialect answers, "that matter", a place
    given up by the day), written before the round's training lines; with dev11_indirect_intents.
    Measured 0.905 → 0.905 and 0.893 → 0.933 (main → intents13); development sets, so floors
    against losing them, not fair figures."""
    report = evaluate(nlu.parse, load_training_data(TEST_DIR / f"{name}.yml", synonyms_from=nlu.data).examples)
    assert report["intent_accuracy"] >= accuracy
    assert report["safety_question_rate"] <= SAFETY_QUESTIONS


def test_the_detect9_sets_hold(nlu):
    """nlu/data/test/dev13_detect9_*.yml (issue 13, detect9, 2026-12-07): 16 emergencies the
    detector missed (a child separated at a fair, a car into a crowd, a limb bent the wrong way, a
    funeral arranged and then silence) and 43 needs and everyday messages it paged (past or chronic
    danger told in 粤/客家 and English, device idioms, a scam told afterwards). Measured recall
    0.56 → 1.0, pages 10 → 0, questions 5 → 2 (main → detect9); written before the rules, so
    floors against losing them, not fair figures."""
    now = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev13_detect9_now.yml", synonyms_from=nlu.data).examples)
    assert now["emergency_recall"] == 1.0
    calm = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev13_detect9_calm.yml", synonyms_from=nlu.data).examples)
    assert calm["emergency_false_positive_rate"] == 0.0
    assert calm["safety_question_rate"] <= 0.05


# Rule rounds' dev sets, written before their rules: floors against losing them, not fair figures.
# dev14_scenes.yml (detect11): nlu/data/test/dev14_scenes.yml (issue 13, detect11, 2026-12-07): 26
# emergencies the lexicon had no rule for (an explosion at a fireworks works, a gas cylinder, a mine or a
# boiler; someone washed away or clinging to a tree in the river; someone fallen in and not surfacing, a
# capsizing) and 24 look-alikes (气炸了, 炸鸡, a burst pipe, a tyre, a quarry's daily blasting, an explosion told
# as past). Measured recall 0.73 (7 paged) → 1.0 (26 paged) (main → detect11); written before the rules, so
# floors against losing them, not fair figures. The one question left on the calm lines is the classifier's
# (我快被他气炸了).
# dev15_things_in_water.yml (detect12): nlu/data/test/dev15_things_in_water.yml (issue 13, detect12,
# 2026-12-07): 16 look-alikes (a thing or an animal fallen into the water or washed away: 手机掉进水塘里, 水桶掉井里,
# 洪水冲走了两头牛, the flood carried away our goats) and 12 emergencies (a person fallen in or washed away, also
# after a thing or an animal). Measured look-alikes paged 9 → 0, emergencies paged 12 → 12 (main →
# detect12); written before the rules, so floors against losing them, not fair figures.
# nlu/data/test/dev16_now_zh.yml and dev16_calm_lives.yml (detect13, 2026-12-07): "now" and "past" words in
# 中文/粤/客家, a person into a reservoir or a ditch, a drowning told as a past death, a person gone with the
# animals; serious lives told calmly as needs (a chronic illness, a relative bedridden, debts, a house damaged
# long ago) and the same lives with a sign of now. Measured main → detect13: dev16_now_zh emergencies caught
# 18 → 23 of 23, look-alikes paged 5 → 0; dev16_calm_lives lives paged 4 → 0 of 69, emergencies caught 9 → 10;
# written with the rules, so floors against losing them, not fair figures.
# dev16_en_crisis.yml (en-crisis): nlu/data/test/dev16_en_crisis.yml (issue 13, en-crisis, 2026-12-07): 89
# emergencies in non-native English (kil myself, no want live, tonight i finish everything, give my cow to
# neighbour after i go, the pills all in my hand, water coming in house baby on roof, snake bite my leg is
# black) and 46 look-alikes (killing me, dead tired, my phone is dead, the deadline, drowning in debt, last year
# my father died, finish my application). Measured caught 77 → 89 (paged 56 → 87), look-alikes paged 5 → 0,
# asked 2 → 0 (main → en-crisis); written before the rules, so floors against losing them, not fair figures.
# dev18_detect.yml (detect14): nlu/data/test/dev18_detect.yml (issue 13, detect14, 2026-12-07): 43 look-alikes by
# class (a fall into a ditch or a pond told calmly, a request whose office does not answer, medicine ready for
# grandma, "end it all with this bank", a snake bite long ago, a cow left with a neighbour for a week) and 28
# emergencies of the same shapes. Measured main → detect14: look-alikes paged 16 → 0, asked 8 → 0;
# emergencies caught 26 → 28 (paged 24 → 28); written before the rules, so floors against losing them.
@pytest.mark.parametrize("name", ["dev14_scenes.yml", "dev15_things_in_water.yml", "dev16_now_zh.yml", "dev16_calm_lives.yml",
                                  "dev16_en_crisis.yml", "dev18_detect.yml"])
def test_the_rule_rounds_dev_sets_hold(nlu, name):
    examples = load_training_data(TEST_DIR / name, synonyms_from=nlu.data).examples
    now = evaluate(nlu.parse, [e for e in examples if e.intent == "emergency"])
    assert now["emergency_recall"] == 1.0
    calm = evaluate(nlu.parse, [e for e in examples if e.intent != "emergency"])
    assert calm["emergency_false_positive_rate"] == 0.0
    assert calm["safety_question_rate"] <= 0.05


def test_the_intents14_indirect_set_holds(nlu):
    """nlu/data/test/dev13_indirect.yml (sixteenth round, issue 13, 2026-12-07): 94 intents said
    without their keyword — a policy asked as "is there anything for people like me" after the
    situation, a place given up by its reason, a family member put down for a class in English,
    thanks, refusals and price complaints — written before the round's changes. Measured 0.755 →
    0.894 (main → intents14); a development set, so a floor against losing it, not a fair figure."""
    report = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev13_indirect.yml", synonyms_from=nlu.data).examples)
    assert report["intent_accuracy"] >= 0.88
    assert report["safety_question_rate"] <= SAFETY_QUESTIONS


def test_the_intents15_styles_set_holds(nlu):
    """nlu/data/test/dev17_styles.yml (intents15, 2026-12-07): 128 lines, every intent in 粤/客家,
    西南官话, said indirectly and in non-native English, written before the round's lines. Measured
    0.953 → 0.961 (main 67198f6 → intents15); merged after en-crisis's English lines, 0.945 → 0.953
    (main 482de62 → merge). A development set, so a floor against losing it."""
    report = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev17_styles.yml", synonyms_from=nlu.data).examples)
    assert report["intent_accuracy"] >= 0.95
    assert report["emergency_recall"] == 1.0
    assert report["safety_question_rate"] <= SAFETY_QUESTIONS


def test_the_hardlives_set_holds(nlu):
    """nlu/data/test/dev18_hard_lives.yml (hardlives, 2026-12-07): 108 hard lives told as needs or chat
    (chronic illness, disability, debts, a husband who left, a child far away, old age alone, an old
    injury, a death long ago, a failed harvest, bad housing) and 30 acute emergencies in the same voices
    (Mandarin, 西南官话, 北方, 粤/客家, run-ons, non-native English), written before any output on it.
    Measured on main: recall 1.0 (28 of 30 paged), pages on the lives 3 (all three the detector's), safety
    questions 4 of 108 (DANGER_ALONE stays 0.3: 0.5 lost an emergency of the honest set), accuracy on the lives
    0.907, need recall 0.758.
    A development set, so floors against losing it. detect15 (years back in the detector's past words):
    pages 3 → 0."""
    examples = load_training_data(TEST_DIR / "dev18_hard_lives.yml", synonyms_from=nlu.data).examples
    now = evaluate(nlu.parse, [e for e in examples if e.intent == "emergency"])
    assert now["emergency_recall"] == 1.0
    lives = evaluate(nlu.parse, [e for e in examples if e.intent != "emergency"])
    assert lives["emergency_false_positive_rate"] <= 0.01  # detect15: 3 pages → 0 (years back in the detector)
    assert lives["safety_question_rate"] <= 0.04
    assert lives["intent_accuracy"] >= 0.90
    assert lives["need_category_recall"] >= 0.75


def test_the_long_ago_set_holds(nlu):
    """nlu/data/test/dev20_long_ago.yml (detect15, 2026-12-08): 52 hard lives whose danger word is long
    past (a death, an accident, a poisoning, an attempt, a flood, a fire told with 前些年, 好些年前, 走了七八年了,
    小时候, long time back, some years ago, before …) and 27 acute ones of the same shapes told as now, in
    Mandarin, 西南官话, 北方, 粤/客家 and non-native English, written before the round's rules. Measured main →
    detect15: pages on the lives 15 → 0, questions 0 → 0; emergencies caught 27 → 27 (paged 26 → 27). A
    development set, so floors against losing it."""
    examples = load_training_data(TEST_DIR / "dev20_long_ago.yml", synonyms_from=nlu.data).examples
    now = evaluate(nlu.parse, [e for e in examples if e.intent == "emergency"])
    assert now["emergency_recall"] == 1.0
    lives = evaluate(nlu.parse, [e for e in examples if e.intent != "emergency"])
    assert lives["emergency_false_positive_rate"] <= 0.02
    assert lives["safety_question_rate"] <= 0.04


def test_the_intents16_styles_set_holds(nlu):
    """nlu/data/test/dev19_styles.yml (intents16, 2026-12-07): 145 lines, every intent in each of
    indirect Mandarin, 粤/客家, non-native English and 西南官话, written before the round's lines.
    Main measures 0.917 on it (indirect 0.75). The round's training lines reached 0.972 but lost two
    emergencies of an honest set and were not merged. intents17 (2026-12-08, nlu/data/train/
    round17_styles.yml, written so that no emergency the rules miss loses the classifier's probability)
    measures 0.966: the floor sits a little under it."""
    report = evaluate(nlu.parse, load_training_data(TEST_DIR / "dev19_styles.yml", synonyms_from=nlu.data).examples)
    assert report["intent_accuracy"] >= 0.95
    assert report["emergency_recall"] == 1.0
    assert report["safety_question_rate"] <= SAFETY_QUESTIONS
