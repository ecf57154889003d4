"""Turning a person's reply into a slot value, one function per slot type.

Each parser returns `Parsed(value, label)` or None when the reply does not answer the
question; `label` is how the value is shown back ("西坡村" for the area code `xipo`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from nlu.choices import parse_choice, role_of, yes_or_no
from nlu.entities.numbers import chinese_to_int
from nlu.normalize import normalize

__all__ = ["Parsed", "parse_date", "parse_number", "parse_phone", "parse_safe", "parse_text",
           "parse_yes_no", "pick_choice", "pick_number", "pick_title", "refuses_choice"]


@dataclass(frozen=True)
class Parsed:
    value: Any
    label: str = ""


_CIRCLED = {chr(0x2460 + i): i + 1 for i in range(20)}


_NUM = re.compile(r"-?\d+(?:\.\d+)?")
_CN_NUM = re.compile(r"[零〇一二两俩三四五六七八九十百千万]+")


def parse_number(text: str) -> Parsed | None:
    t = text.strip().translate({0xFF10 + i: str(i) for i in range(10)})
    t = "".join(str(_CIRCLED[c]) if c in _CIRCLED else c for c in t)
    nums = _NUM.findall(t.replace(",", ""))
    if len(nums) == 1:
        n = float(nums[0])
        value = int(n) if n.is_integer() else n
        return Parsed(value, str(value))
    if nums:
        return None  # two numbers: which one?
    words = _CN_NUM.findall(t)
    if len(words) == 1:
        n = chinese_to_int(words[0])
        if n is not None:
            return Parsed(n, str(n))
    return None


_PHONE = re.compile(r"^(?:\+?86)?(1[3-9]\d{9})$")


def parse_phone(text: str) -> Parsed | None:
    digits = re.sub(r"[\s\-().（）]", "", text.strip().translate({0xFF10 + i: str(i) for i in range(10)}))
    m = _PHONE.match(digits)
    return Parsed(m.group(1), m.group(1)) if m else None


_YES = ("是的", "是", "对的", "对", "好的", "好", "要", "嗯", "行", "可以", "确认", "没错", "同意", "中", "要得", "有", "有的", "还有",
        "ok", "okay", "yes", "y", "yeah", "yep", "sure", "correct", "right", "confirm", "agree")
_NO = ("不是", "不对", "不要", "不用", "不行", "不", "否", "没有", "没", "错了", "不同意", "算了",
       "no", "n", "nope", "not", "wrong", "disagree")


def parse_yes_no(text: str, intent: str = "") -> Parsed | None:
    said = yes_or_no(text)  # the NLU lexicon's plain and dialect words (得行, 要得, 唔要...)
    if said is not None:
        return Parsed(said)
    t = text.strip().lower().strip(" .!?。！？，,~")
    if t in _NO or any(t.startswith(w) for w in _NO if len(w) > 1 and not w.isascii()):
        return Parsed(False)
    if t in _YES or any(t.startswith(w) for w in _YES if len(w) > 1 and not w.isascii()):
        return Parsed(True)
    if re.match(r"^(no|not)\b", t):
        return Parsed(False)
    if re.match(r"^(yes|ok|okay|sure)\b", t):
        return Parsed(True)
    if intent == "affirm":
        return Parsed(True)
    if intent == "deny":
        return Parsed(False)
    return None


_MEANINGFUL = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")


_NO_DANGER = re.compile(r"没(?:有)?(?:危险|事|问题)|不危险|no danger|not in danger|i'?m ok|i am ok")
_UNSAFE = re.compile(r"不.{0,2}安全|危险|救|不好|不行|not safe|unsafe|not ok|danger|help|hurt|^no\b|^nope|^不[是对]?$|^没有?$|^[2２②二](?!\d)")
_SAFE = re.compile(r"安全|没事|还好|挺好|很好|我好|放心|不用担心|^好|safe|^ok|okay|fine|^yes|^yeah|^是|^对|^嗯|^[1１①一](?!\d)")


def parse_safe(text: str) -> Parsed | None:
    """The answer to "are you safe?": `safe`, `unsafe` or None. Negations are read first
    (我不安全 and "not safe" are unsafe, 没危险 is safe); a bare 2 is unsafe, a bare 1 safe."""
    t = text.strip().lower()
    if not t:
        return None
    i = pick_number(t, 2)  # 第二个, 2号, ②…: the buttons' numbers in any form
    if i is not None:
        return Parsed(("safe", "unsafe")[i])
    if _NO_DANGER.search(t):
        return Parsed("safe")
    if _UNSAFE.search(t):
        return Parsed("unsafe")
    if _SAFE.search(t):
        return Parsed("safe")
    return None


def parse_text(text: str, min_length: int | None = None, max_length: int | None = None) -> Parsed | None:
    t = text.strip()
    if not _MEANINGFUL.search(t):
        return None  # empty, or only emoji and punctuation
    if min_length is not None and len(t) < min_length:
        return None
    if max_length is not None and len(t) > max_length:
        return None
    return Parsed(t, t)


def parse_date(text: str, today: date) -> Parsed | None:
    t = text.strip()
    rel = {"今天": 0, "今日": 0, "today": 0, "明天": 1, "明日": 1, "tomorrow": 1, "后天": 2, "昨天": -1, "yesterday": -1}
    if t.lower() in rel:
        d = today + timedelta(days=rel[t.lower()])
        return Parsed(d.isoformat(), d.isoformat())
    m = re.match(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", t)
    if m:
        y, mo, d_ = (int(g) for g in m.groups())
    else:
        m = re.match(r"^(\d{1,2})[月/.-](\d{1,2})[日号]?$", t)
        if not m:
            return None
        y, (mo, d_) = today.year, (int(g) for g in m.groups())
    try:
        d = date(y, mo, d_)
    except ValueError:
        return None
    return Parsed(d.isoformat(), d.isoformat())


def pick_choice(text: str, options: list[tuple[Any, list[str]]]) -> int | None:
    """The index of the option a reply picks. `options` = [(value, [titles in every language])];
    the reply may be a number, an ordinal, the title or the value itself."""
    t = text.strip()
    if not t:
        return None
    for i, (value, titles) in enumerate(options):
        if t.lower() == str(value).lower() or t.lower() in (x.lower() for x in titles):
            return i
    roles = [role_of(value) for value, _ in options]
    tried = set()
    for lang in range(max((len(titles) for _, titles in options), default=0)):
        titles = [ts[lang] if lang < len(ts) else "" for _, ts in options]
        if tuple(titles) in tried:  # the locale's column is often zh's: same titles, same answer
            continue
        tried.add(tuple(titles))
        i = parse_choice(t, titles, roles)
        if i is not None and 0 <= i < len(options):
            return i
    return None


_ORDINAL_WORDS = {"one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "first", "second",
                  "third", "fourth", "fifth", "sixth", "last", "the", "number", "option", "no", "please"}


def pick_number(text: str, count: int) -> int | None:
    """The 0-based index a whole reply that is only a choice number names, among `count`
    choices: 2, ２, 二, ②, 第二个, 2号, "second", "the last one"; None for anything longer
    ("two kids" is not a choice)."""
    t = text.strip()
    if not t or len(t) > 16 or any(w.isalpha() and w.isascii() and w not in _ORDINAL_WORDS
                                   for w in t.lower().replace(".", " ").split()):
        return None
    return parse_choice(t, [""] * count)  # blank option words: only numbers and ordinals count


_PUNCT = re.compile(r"[\s,.!?。，！？、~…]+")


def pick_title(text: str, titles: list[str]) -> int | None:
    """The index of the one title a reply repeats exactly (case, width and punctuation aside)."""
    def compact(s: str) -> str:
        return _PUNCT.sub("", normalize(s))

    said = compact(text)
    found = [i for i, title in enumerate(titles) if said and compact(title) == said]
    return found[0] if len(found) == 1 else None


def refuses_choice(text: str, values: list[Any]) -> bool:
    """A plain "no" (不要, 算了, 唔要) to a choice that has a "yes" option but no "no" option:
    the person declines the whole question (the flow is cancelled)."""
    roles = [role_of(v) for v in values]
    return "yes" in roles and "no" not in roles and yes_or_no(text) is False


def today_in(now: datetime) -> date:
    return now.date()
