"""The NLU's CPU cuts (docs/performance.md, 2026-12-07, nlufast) give what the plain forms gave:
each fast path is compared with the straightforward computation it replaced, on the test split."""
import re
from collections import Counter

import numpy as np
import pytest

from nlu import parser
from nlu.features import CHAR_NGRAMS, raw_features
from nlu.literals import alternation
from nlu.normalize import normalize
from nlu.tokenize import words
from nlu.training_data import TEST_DIR, load_training_data


@pytest.fixture(scope="module")
def texts():
    found = [ex.text for ex in load_training_data(TEST_DIR / "test.yml").examples]
    for path in sorted((TEST_DIR / "styles").glob("*.yml")):
        found += [ex.text for ex in load_training_data(path).examples]
    return found + ["", " ", "a", "救命", "hello world", "低保 低保 低保"]


def plain_features(text: str) -> Counter:
    """features.raw_features as first written: one Counter.update per kind."""
    feats: Counter = Counter()
    compact = text.replace(" ", "")
    padded = f"^{compact}$"
    for n in CHAR_NGRAMS:
        if n == 1:
            feats.update("c:" + ch for ch in compact)
        else:
            feats.update("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    toks = words(text)
    feats.update("w:" + t for t in toks)
    feats.update("b:" + a + "|" + b for a, b in zip(toks, toks[1:]))
    if not toks:
        feats["empty"] += 1
    return feats


def test_features_are_counted_as_before_in_the_same_order(nlu, texts):
    for text in texts:
        canonical = nlu.canonicalize(normalize(text))
        fast, plain = raw_features(canonical), plain_features(canonical)
        assert list(fast.items()) == list(plain.items()), text  # the order fixes the sums' order


def test_vectors_are_the_plain_tf_idf_bit_for_bit(nlu, texts):
    featurizer = nlu.model.featurizer
    for text in texts:
        canonical = nlu.canonicalize(normalize(text))
        feats = plain_features(canonical)
        known = [f for f in feats if f in featurizer.vocabulary]
        index, weights = featurizer.vector(canonical)
        assert index.tolist() == [featurizer.vocabulary[f] for f in known], text
        if known:
            counts = np.fromiter((feats[f] for f in known), dtype=float, count=len(known))
            plain = (1.0 + np.log(counts)) * featurizer.idf[np.asarray(index)]
            plain /= np.sqrt(plain @ plain)
            assert weights.tobytes() == plain.tobytes(), text


def plain_alternation(words, guard_ascii=False):
    """The pattern nlu.literals replaced: every word, longest first."""
    parts = [rf"(?<![a-z]){re.escape(w)}" if guard_ascii and w[0].isascii() else re.escape(w)
             for w in sorted((w for w in words if w), key=len, reverse=True)]
    return "|".join(parts)


def test_the_trie_matches_like_the_plain_alternation(nlu, texts):
    tables = [(list(lexicon._table), True) for lexicon in nlu._lexicons]
    tables += [(list(nlu.canonicalize._table), False), (["ab", "abcd", "abc", "b", "pension", "低保", "低保户", "保"], True)]
    samples = [normalize(t) for t in texts] + ["abcd abce ab xabcd", "suspension pension", "低保户低保低"]
    for words, guard in tables:
        trie, plain = re.compile(alternation(words, guard)), re.compile(plain_alternation(words, guard))
        for text in samples:
            assert [m.span() for m in trie.finditer(text)] == [m.span() for m in plain.finditer(text)], text
    assert re.compile(alternation([])).search("anything") is None


def test_a_broken_trie_would_be_seen():
    words = ["ab", "abcd"]
    shortest_first = "|".join(sorted(words, key=len))  # what a wrong order would find
    assert [m.span() for m in re.finditer(alternation(words), "abcd")] != [m.span() for m in re.finditer(shortest_first, "abcd")]


def test_gazetteer_names_are_found_longest_first(gazetteer_nlu):
    spans = gazetteer_nlu._gazetteer.extract("我想报名巧娘手工班和李家坪村的学习小组")
    assert [(s.entity, s.value, s.start, s.end) for s in spans if s.confidence == 1.0] == [
        ("activity", "12", 4, 9), ("village", "4", 10, 14), ("activity", "13", 15, 19)]


def test_dates_skip_only_positions_where_nothing_begins(texts):
    """The look-ahead of dates._EXPR: a non-empty match of the expression without it begins
    with one of its characters (any character of the BMP tried before the expression's tails)."""
    from nlu.entities import dates

    plain = re.compile(dates._EXPR.pattern[dates._EXPR.pattern.index(")") + 1 :])
    assert plain.pattern.startswith("(?:")
    tails = ["", "月5号", "5号", "号", "天", "周三", "期三", "拜天", "午3点", "上8点", "点半", "0:30", "3点", "早", "天晚上"]
    for code in range(0x20, 0x10000):
        ch = chr(code)
        if any((m := plain.match(ch + tail)) and m.end() > 0 for tail in tails):
            assert dates._EXPR.match(ch + "月5号下午3点") or dates._EXPR.match(ch + " "), ch
    samples = [normalize(t) for t in texts] + ["下周三下午3点", "3月5号 9:30", "明晚", "一点点", "2026-03-05"]
    for text in samples:
        assert ([m.span() for m in dates._EXPR.finditer(text) if m.end() > m.start()]
                == [m.span() for m in plain.finditer(text) if m.end() > m.start()]), text


def test_the_tokenizer_cuts_as_jieba_does(nlu, texts):
    """tokenize.cut is jieba's lcut(HMM=False) rewritten for speed: the same words, the domain
    words added by NLU.load included; training lines too (the need lines are the longest)."""
    from nlu import tokenize
    from nlu.training_data import load_training_data, need_files

    lines = [ex.text for ex in nlu.data.examples] + texts
    for path in need_files():
        lines += [ex.text for ex in load_training_data(path).examples]
    samples = ["abc123 def", "a b  c", "\r\n x\ty", "ＡＢＣ", "中国abc中国", "3.5元", "#&._%-", "政策名 活动名"]
    for line in lines:
        samples += [line, normalize(line), nlu.canonicalize(normalize(line))]
    jieba_cut = tokenize.tokenizer().lcut
    assert [s for s in samples if tokenize.cut(s) != jieba_cut(s, HMM=False)] == []


def test_the_detector_reports_the_idioms_as_has_benign_idiom_does(texts):
    """detect_normalized's `benign_idiom` (the idioms removed changed the text) is
    has_benign_idiom, and told_as_past given it answers as without it."""
    from nlu.emergency import detect_normalized, has_benign_idiom, told_as_past
    idioms = ["我想死你了 好久不见", "笑死我了 哈哈", "好久没跟你们联系 都还好不", "忘了灶上还烧着火 去年的事了",
              "我想死你了 刚才突然晕倒", "累死了 去年就这样"]
    seen = set()
    for text in texts + idioms:
        norm = normalize(text)
        alarm = detect_normalized(norm)
        assert alarm.benign_idiom == has_benign_idiom(norm), text
        assert told_as_past(norm, alarm.benign_idiom) == told_as_past(norm), text
        seen.add((alarm.benign_idiom, alarm.level))
    assert {flag for flag, _ in seen} == {True, False}


def test_a_short_texts_kept_parse_is_the_parse(nlu, texts):
    """The kept parses of short texts (parser.SHORT_CACHED) equal a fresh parse at every
    `now`, dates and times included, and what a caller changes in one is not given again."""
    from datetime import datetime, timedelta, timezone

    from bot.bench.workload import SHORT_ANSWERS

    short = sorted({t for t in [*texts, *SHORT_ANSWERS, "明天", "后天下午3点", "下午", "周五", "31号", "2月29日"]
                    if len(t) <= parser.SHORT_CACHED})
    assert len(short) > 40
    nlu._short.clear()
    day = datetime(2026, 12, 8, 2, 0, tzinfo=timezone.utc)
    for now in (day, day + timedelta(days=1, hours=13), datetime(2027, 2, 27, 4, 0, tzinfo=timezone.utc), None):
        for text in short:
            given = nlu.parse(text, now)
            assert given == nlu._parse(text, now), (text, now)
            given["intent"]["name"] = "changed"
            given["entities"].append({"entity": "x"})
            given["intent_ranking"].clear()
            given["emergency"]["kinds"].append("x")
    kept = set(nlu._short)
    assert "好的" in kept and "1" in kept and "明天" not in kept and "下午" not in kept
    names = nlu._gazetteer
    try:
        nlu.set_gazetteer([], [(7, "张家村", [])])  # new names: nothing kept from before
        assert not nlu._short
        assert [e["value"] for e in nlu.parse("张家村")["entities"] if e["entity"] == "village"] == ["7"]
    finally:
        nlu._gazetteer = names
        nlu._short.clear()
