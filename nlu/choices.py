"""Mapping a reply to one of the options the bot offered: "2", "二", "②", "第二个", "2号",
"选2", "two", or the option's own words (fuzzy) → a 0-based index, or None."""
from __future__ import annotations

import re
from collections.abc import Sequence

from rapidfuzz import fuzz

from nlu.entities.numbers import CIRCLED, chinese_to_int
from nlu.normalize import normalize

__all__ = ["parse_choice"]

_EN = {"one": 1, "first": 1, "two": 2, "second": 2, "three": 3, "third": 3, "four": 4, "fourth": 4,
       "five": 5, "fifth": 5, "six": 6, "sixth": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "last": -1}
_NUM = r"(?P<n>\d{1,2}|[一二两三四五六七八九十]{1,3}|[" + "".join(CIRCLED) + r"])"
_CHOICE = re.compile(
    rf"^(?:我?(?:选|要|报|选择|就要|挑)?(?:第|no\.?|number|option|#)?\s*{_NUM}\s*(?:个|号|项|条|种|个吧|号吧|吧|啊)?)$"
)
_LAST = re.compile(r"^(?:我?(?:选|要)?)?最后一个$")
_FILLER = re.compile(r"[\s,.!?。,!?、~]+")


def _number(token: str) -> int | None:
    if token in CIRCLED:  # before isdigit(): "①".isdigit() is True
        return CIRCLED[token]
    if token.isascii() and token.isdigit():
        return int(token)
    return chinese_to_int(token)


def parse_choice(text: str, options: Sequence[str], min_score: float = 70.0) -> int | None:
    if not options:
        return None
    norm = normalize(text)
    compact = _FILLER.sub("", norm)
    if not compact:
        return None
    if _LAST.match(compact) or compact in ("last", "thelastone"):
        return len(options) - 1
    m = _CHOICE.match(compact)
    if m:
        n = _number(m.group("n"))
        return n - 1 if n is not None and 1 <= n <= len(options) else None
    words = norm.replace("the", " ").split()
    for word in words:
        if word in _EN:
            n = _EN[word]
            if n == -1:
                return len(options) - 1
            return n - 1 if n <= len(options) else None
    # the option's own words
    normalized = [_FILLER.sub("", normalize(o)) for o in options]
    for i, option in enumerate(normalized):
        if option and (option == compact or option in compact or (len(compact) >= 2 and compact in option)):
            return i
    scores = [fuzz.partial_ratio(compact, option) if option else 0.0 for option in normalized]
    best = max(range(len(options)), key=lambda i: scores[i])
    tied = sum(1 for s in scores if s == scores[best]) > 1
    return best if scores[best] >= min_score and not tied else None
