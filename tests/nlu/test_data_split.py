"""Train/test de-duplication across every file of nlu/data (issue 13).

A held-out sentence that also occurs in what a model learns from measures memory, not
understanding. Compared after ``nlu.normalize`` (traditional → simplified, full-width, case)
with spaces and punctuation removed (emoji kept: 👌 and 🐷🐷🐷 are different answers):

- every intent example (nlu/data/train, and the rest of nlu/data outside test/) and every
  need-model example (nlu/data/needs) against every sentence of nlu/data/test (test.yml,
  challenge.yml, needs_indirect.yml, the dev sets dev4_*, dev5_*, emergency_dev.yml, styles/*.yml,
  and the blind sets blind2/, blind3/, blind4/, …:
  needs_indirect.yml, styles/*.yml, hard_lives.yml);
- each blind set also against the older held-out sets and the blind sets written before it (it
  was written to be fresh: a sentence already in them has been looked at while tuning);
- every need and policy word of the lexicon (the need model learns from the need words)
  against the same sentences;
- the situation descriptions of the knowledge search: dev against held-out, and each blind set's
  kb_situations.yml against training, the dev situations and the held-out situations before it.

The yes/no words (nlu/data/yes_no.yml) feed no model — the intent model never sees them, and a
choice reads a whole reply against them — so a one-word test reply that is one of them is not
a leak; the test checks that they stay out of the intent model's training texts.
"""
from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml

from nlu.normalize import normalize
from nlu.training_data import DATA_DIR, TEST_DIR, _load_file, data_files, need_files

YES_NO = DATA_DIR / "yes_no.yml"


def _key(text: str) -> str:
    return "".join(ch for ch in normalize(text) if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def _test_sentences() -> dict[str, str]:
    found = {}
    for path in sorted(TEST_DIR.rglob("*.yml")):
        if path.name.startswith("kb_"):
            continue
        for _, text, _ in _load_file(path)[1]:
            found.setdefault(_key(text), f"{path.relative_to(TEST_DIR)}: {text}")
    return found


def _training_sentences() -> dict[str, str]:
    found = {}
    for path in data_files(DATA_DIR) + need_files():
        for _, text, _ in _load_file(path)[1]:
            found.setdefault(_key(text), f"{path.relative_to(DATA_DIR)}: {text}")
    return found


def _lexicon_words() -> dict[str, str]:
    data, _ = _load_file(DATA_DIR / "lexicon.yml")
    words = {}
    for name, items in data.lookups.items():
        for w in items:
            words[_key(w)] = f"lexicon lookup {name}: {w}"
    for value, items in data.synonym_groups.items():
        for w in items:
            words[_key(w)] = f"lexicon synonym {value}: {w}"
    return words


def test_the_split_files_are_where_the_test_expects_them():
    tests = _test_sentences()
    assert len(tests) > 1500  # test, challenge, needs_indirect and the seven style files
    assert any(v.startswith("styles/") for v in tests.values())
    assert len(_training_sentences()) > 1500


def test_no_test_sentence_is_a_training_sentence():
    train = _training_sentences()
    clashes = [f"{where}  ==  {train[k]}" for k, where in _test_sentences().items() if k and k in train]
    assert not clashes, "\n".join(clashes)


def _blind_sets() -> list[str]:
    """The blind held-out sets: the sub-folders of nlu/data/test (blind2, blind3, …), oldest first."""
    def order(name: str) -> tuple[int, str]:
        digits = "".join(ch for ch in name if ch.isdigit())
        return (int(digits) if digits else 0, name)

    return sorted((p.name for p in TEST_DIR.iterdir()
                   if p.is_dir() and (p / "styles").is_dir() and (p / "needs_indirect.yml").is_file()), key=order)


def test_the_blind_sets_are_found():
    assert {"blind2", "blind3", "blind4", "blind5", "blind6", "blind7", "blind8", "blind9"} <= set(_blind_sets())
    assert _blind_sets().index("blind2") < _blind_sets().index("blind3") < _blind_sets().index("blind4") \
        < _blind_sets().index("blind5") < _blind_sets().index("blind6") < _blind_sets().index("blind7") \
        < _blind_sets().index("blind8") < _blind_sets().index("blind9")


@pytest.mark.parametrize("blind_set", _blind_sets())
def test_a_blind_set_is_held_out_and_loaded_by_the_split_check(blind_set):
    blind = [where for where in _test_sentences().values() if where.startswith(f"{blind_set}/")]
    assert any(w.startswith(f"{blind_set}/needs_indirect.yml") for w in blind)
    assert any(w.startswith(f"{blind_set}/styles/") for w in blind)
    assert len(blind) > 500
    if (TEST_DIR / blind_set / "hard_lives.yml").is_file():
        assert any(w.startswith(f"{blind_set}/hard_lives.yml") for w in blind)
    assert not [p for p in data_files(DATA_DIR) + need_files() if blind_set in p.relative_to(DATA_DIR).parts]  # never trained on


@pytest.mark.parametrize("blind_set", _blind_sets())
def test_no_blind_sentence_is_a_training_sentence(blind_set):
    train = _training_sentences()
    clashes = []
    for path in sorted((TEST_DIR / blind_set).rglob("*.yml")):
        if path.name.startswith("kb_"):  # situations, not intent examples: test_blind_situations_are_fresh
            continue
        for _, text, _ in _load_file(path)[1]:
            key = _key(text)
            if key and key in train:
                clashes.append(f"{path.relative_to(TEST_DIR)}: {text}  ==  {train[key]}")
    assert not clashes, "\n".join(clashes)


@pytest.mark.parametrize("blind_set", _blind_sets())
def test_a_blind_set_repeats_no_older_held_out_sentence(blind_set):
    """A blind set is fresh against the flat held-out files and every blind set written before it."""
    earlier = set(_blind_sets()[:_blind_sets().index(blind_set)])
    blind, older = {}, {}
    for path in sorted(TEST_DIR.rglob("*.yml")):
        if path.name.startswith("kb_"):
            continue
        rel = path.relative_to(TEST_DIR)
        in_set = rel.parts[0] if rel.parts[0] in _blind_sets() else None  # styles/ is an older flat set
        for _, text, _ in _load_file(path)[1]:
            key = _key(text)
            if in_set == blind_set:
                assert key not in blind, f"{rel}: {text} repeats {blind[key]}"
                blind[key] = f"{rel}: {text}"
            elif in_set is None or in_set in earlier:
                older.setdefault(key, f"{rel}: {text}")
    clashes = [f"{where}  ==  {older[k]}" for k, where in blind.items() if k in older]
    assert not clashes, "\n".join(clashes)


def test_no_test_sentence_is_a_lexicon_word():
    words = _lexicon_words()
    clashes = [f"{where}  ==  {words[k]}" for k, where in _test_sentences().items() if k and k in words]
    assert not clashes, "\n".join(clashes)


def test_yes_no_words_feed_no_intent_model():
    assert YES_NO in data_files(DATA_DIR)  # loaded with the data, as lookups only
    _, examples = _load_file(YES_NO)
    assert examples == []


def test_held_out_situations_are_not_dev_situations():
    def questions(path: Path) -> set[str]:
        return {_key(item["question"]) for item in yaml.safe_load(path.read_text(encoding="utf-8"))}

    dev = questions(DATA_DIR / "kb_situations_dev.yml") | questions(DATA_DIR / "kb_eval.yml")
    assert not dev & questions(TEST_DIR / "kb_situations.yml")
    # the third round's probes (the learnt scorer trains on the dev files: they must not be there)
    assert not dev & questions(TEST_DIR / "kb_situations_kb6.yml")
    # the tenth round's probes (kb7), likewise never trained on
    assert not dev & questions(TEST_DIR / "kb_situations_kb7.yml")
    assert not dev & questions(TEST_DIR / "kb_situations_kb7_after.yml")
    # the eleventh round's probes (kb8), likewise never trained on
    assert not dev & questions(TEST_DIR / "kb_situations_kb8.yml")
    # the kb9 round's dev set (kb9), likewise never trained on
    assert not dev & questions(TEST_DIR / "kb_situations_kb9.yml")
    # the kb10 round's dev set, likewise
    assert not dev & questions(TEST_DIR / "kb_situations_kb10.yml")
    # the kb11 round's dev set, likewise
    assert not dev & questions(TEST_DIR / "kb_situations_kb11.yml")


def test_the_key_folds_what_normalization_folds():
    assert _key("對 就這個！") == _key("对就这个")
    assert _key("Good night") == _key("goodnight")
    assert _key("👌") != _key("🐷🐷🐷")


def test_the_dev_sets_are_held_out_too():
    """The helpers' development sets (dev4_* … dev18_*, emergency_dev) are compared like the others."""
    held_out = {where.split(":")[0] for where in _test_sentences().values()}
    assert {"dev5_needs.yml", "dev5_emergency.yml", "dev4_needs.yml", "emergency_dev.yml",
            "dev8_needs.yml", "dev8_boundary.yml", "dev9_needs.yml", "dev9_hard_lives.yml",
            "dev9_emergency_now.yml", "dev10_rule_alarms.yml", "dev10_now.yml",
            "dev11_en_intents.yml", "dev11_indirect_intents.yml", "dev11_en_emergency.yml",
            "dev11_en_lookalikes.yml", "dev12_en_acute.yml", "dev12_indirect.yml",
            "dev13_detect9_calm.yml", "dev13_detect9_now.yml", "dev13_needs.yml", "dev13_indirect.yml",
            "dev14_scenes.yml", "dev15_things_in_water.yml",
            "dev16_now_zh.yml", "dev16_calm_lives.yml", "dev16_en_crisis.yml", "dev17_styles.yml",
            "dev18_hard_lives.yml", "dev18_detect.yml", "dev19_styles.yml", "dev20_long_ago.yml"} <= held_out



def _situations(path: Path) -> dict[str, str]:
    return {_key(item["question"]): f"{path.relative_to(DATA_DIR)}: {item['question']}"
            for item in yaml.safe_load(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("blind_set", [b for b in _blind_sets() if (TEST_DIR / b / "kb_situations.yml").is_file()])
def test_blind_situations_are_fresh(blind_set):
    """A blind set's knowledge-search situations are neither training sentences nor situations
    of the dev sets, the flat held-out file or an older blind set."""
    mine = _situations(TEST_DIR / blind_set / "kb_situations.yml")
    seen = dict(_training_sentences())
    for path in (DATA_DIR / "kb_situations_dev.yml", DATA_DIR / "kb_eval.yml", TEST_DIR / "kb_situations.yml"):
        seen.update(_situations(path))
    for older in _blind_sets()[:_blind_sets().index(blind_set)]:
        if (TEST_DIR / older / "kb_situations.yml").is_file():
            seen.update(_situations(TEST_DIR / older / "kb_situations.yml"))
    clashes = [f"{where}  ==  {seen[k]}" for k, where in mine.items() if k in seen]
    assert not clashes, "\n".join(clashes)
