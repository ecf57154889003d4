"""Plain and dialect yes / no at a numbered choice (nlu/data/yes_no.yml, nlu.choices)."""

import pytest

from flows.answers import parse_yes_no, pick_choice, refuses_choice
from nlu.choices import YES_NO_FILE, parse_choice, role_of, yes_or_no
from nlu.training_data import load_training_data

CONSENT = (["同意", "不同意"], ["yes", "no"])  # agree / refuse
SIGN_UP = (["我要报名", "看别的活动"], ["yes", None])  # join / list: no "no" option
CATEGORIES = (["全部", "孩子的", "老人的"], [None, None, None])  # no yes option at all


def _lookup(name: str) -> list[str]:
    return load_training_data(YES_NO_FILE).lookups[name]


def test_the_lexicon_loads_with_both_lists():
    assert len(_lookup("affirm")) >= 60 and len(_lookup("deny")) >= 40
    assert not set(_lookup("affirm")) & set(_lookup("deny"))


@pytest.mark.parametrize("word", _lookup("affirm"))
def test_every_affirmation_picks_the_yes_option(word):
    assert yes_or_no(word) is True
    assert parse_choice(word, *CONSENT) == 0
    assert parse_choice(word, ["看别的活动", "我要报名"], [None, "yes"]) == 1


@pytest.mark.parametrize("word", _lookup("deny"))
def test_every_negation_picks_the_no_option(word):
    assert yes_or_no(word) is False
    assert parse_choice(word, *CONSENT) == 1
    assert parse_choice(word, *SIGN_UP) is None  # never the yes option
    assert refuses_choice(word, ["join", "list"])  # the runtime cancels


@pytest.mark.parametrize("text", ["得行", "要得嘛", "好嘛", "好额", "来赛", "係呀", "冇問題", "做得", "中嘞", "嗯呐",
                                  "没毛病", "妥了", "好好好", "嗯嗯", "嗯 好的", "好的，谢谢", "OK!", "ok sure",
                                  "yes please", "Sure.", "俺同意", "👌"])
def test_dialect_and_everyday_agreement(text):
    assert parse_choice(text, *SIGN_UP) == 0
    assert parse_choice(text, *CONSENT) == 0


@pytest.mark.parametrize("text", ["不要", "不用了谢谢", "算了吧", "要不得", "不得行", "唔要", "我唔要", "冇需要", "覅",
                                  "No thanks", "nope", "我不同意", "不是"])
def test_negations(text):
    assert parse_choice(text, *CONSENT) == 1
    assert parse_choice(text, *SIGN_UP) is None
    assert refuses_choice(text, ["join", "list"])


@pytest.mark.parametrize("text", ["好的", "行", "得行", "不要", "算了", "no"])
def test_no_obvious_yes_option_picks_nothing(text):
    assert parse_choice(text, *CATEGORIES) is None
    assert not refuses_choice(text, ["all", "children", "elderly"])


def test_without_roles_the_words_pick_nothing():
    assert parse_choice("好的", ["同意", "不同意"]) is None
    assert parse_choice("不同意", ["同意", "不同意"]) == 1  # its own words still count


@pytest.mark.parametrize("text", ["不要", "不是", "我不要报名", "不要报名", "别报了"])
def test_a_negation_never_fuzzy_matches_the_yes_option(text):
    assert parse_choice(text, *SIGN_UP) != 0


def test_yao_is_not_buyao():
    assert yes_or_no("要") is True and yes_or_no("不要") is False and yes_or_no("要不要") is None
    assert parse_choice("要", *SIGN_UP) == 0


def test_numbers_and_own_words_still_win():
    assert parse_choice("2", *CONSENT) == 1
    assert parse_choice("看别的", *SIGN_UP) == 1


def test_role_of_values():
    assert [role_of(v) for v in ("agree", "JOIN", "confirm", "continue", "resume", "submit", True)] == ["yes"] * 7
    assert [role_of(v) for v in ("refuse", "disagree", "decline", "no", "skip", "change", False)] == ["no"] * 7
    assert [role_of(v) for v in ("list", "category", "me", 3)] == [None] * 4


def test_pick_choice_takes_roles_from_values():
    options = [("join", ["我要报名", "Sign up"]), ("list", ["看别的活动", "Other activities"])]
    assert pick_choice("要得", options) == 0
    assert pick_choice("sure", options) == 0
    assert pick_choice("不要", options) is None
    resume = [(True, ["继续", "Continue"]), (False, ["不用了", "No thanks"])]
    assert pick_choice("好嘛", resume) == 0 and pick_choice("唔使", resume) == 1


def test_yes_no_slots_understand_the_dialect_words():
    assert parse_yes_no("得行").value is True
    assert parse_yes_no("要不得").value is False
    assert parse_yes_no("有的").value is True  # the slot's own words still work
    assert parse_yes_no("没有").value is False

