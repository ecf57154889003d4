"""Which numbered choice a reply picks: 1, 一, ①, "第一个", "二号", "选2" or the option's words.

Used by the flow engine until/unless `nlu.choices.parse_choice` is present (same contract:
`parse_choice(text, options) -> int | None`, a 0-based index).
"""
from __future__ import annotations

import re

from flows.answers import chinese_number

__all__ = ["parse_choice"]

_CIRCLED = {chr(0x2460 + i): i + 1 for i in range(20)}
_ORDINAL = re.compile(r"^(?:选|选择|我选|要|就|第)?\s*([0-9]+|[一二两三四五六七八九十]+)\s*(?:个|号|项|条|种|的|吧|。|\.|、)*$")
_EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "last": -1,
                "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def _ordinal(text: str) -> int | None:
    t = text.strip().lower().translate({0xFF10 + i: str(i) for i in range(10)})
    if len(t) == 1 and t in _CIRCLED:
        return _CIRCLED[t]
    m = _ORDINAL.match(t)
    if m:
        g = m.group(1)
        return int(g) if g.isdigit() else chinese_number(g)
    m = re.match(r"^(?:option|number|no\.?|the)?\s*(\d+|[a-z]+)(?:\s*(?:one|option))?\.?$", t)
    if m:
        g = m.group(1)
        return int(g) if g.isdigit() else _EN_ORDINALS.get(g)
    return None


def parse_choice(text: str, options: list[str]) -> int | None:
    """The 0-based index of the option `text` picks, or None."""
    if not options:
        return None
    n = _ordinal(text)
    if n is not None:
        if n == -1:
            return len(options) - 1
        return n - 1 if 1 <= n <= len(options) else None
    t = text.strip().lower()
    if not t:
        return None
    exact = [i for i, o in enumerate(options) if o and o.strip().lower() == t]
    if exact:
        return exact[0]
    contained = [i for i, o in enumerate(options) if o and (o.lower() in t or (len(t) >= 2 and t in o.lower()))]
    return contained[0] if len(contained) == 1 else None
