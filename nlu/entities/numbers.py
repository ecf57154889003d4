"""Numbers written as 3, 3.5, 三, 两, 十二, 一百二十 or ①: parsing and the ``number`` entity.

Chinese numerals count as a ``number`` entity only where they are clearly a quantity: before
a measure word (两个人, 三亩), after 第 (第二个), or as the whole message (三).
"""
from __future__ import annotations

import re

from nlu.entities.base import Span

__all__ = ["CIRCLED", "CN_DIGITS", "NumberExtractor", "chinese_to_int"]

CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "俩": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
CIRCLED = {chr(0x2460 + i): i + 1 for i in range(20)} | {chr(0x2776 + i): i + 1 for i in range(10)}

_CN = "零〇一二两俩三四五六七八九十百千万"
MEASURES = "个人口岁块元亩头只次天年月周斤分位间户名棵件张本份趟"
_NUMBER = re.compile(
    rf"(?P<arabic>(?<![\d.])\d+(?:\.\d+)?(?![\d.]))"
    rf"|(?P<circled>[{''.join(CIRCLED)}])"
    rf"|(?P<ordinal>(?<=第)[{_CN}]+)"
    rf"|(?P<measured>[{_CN}]+(?=[{MEASURES}]))"
)


def chinese_to_int(text: str) -> int | None:
    """一百二十 → 120, 两 → 2, 十五 → 15, 二零二六 → 2026; None if not a numeral."""
    if not text or any(c not in CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    if all(c in CN_DIGITS for c in text) and len(text) > 1:
        return int("".join(str(CN_DIGITS[c]) for c in text))
    total, section, digit = 0, 0, None
    for c in text:
        if c in CN_DIGITS:
            digit = CN_DIGITS[c]
        else:
            unit = _CN_UNITS[c]
            if unit == 10000:
                section = (section + (digit or 0)) * unit
                total += section
                section = 0
            else:
                section += (digit if digit is not None else 1) * unit
            digit = None
    return total + section + (digit or 0)


class NumberExtractor:
    def extract(self, text: str) -> list[Span]:
        spans = []
        stripped = text.strip()
        whole = chinese_to_int(stripped)
        if whole is not None and stripped:
            start = text.index(stripped)
            return [Span("number", whole, start, start + len(stripped), 1.0, "NumberExtractor")]
        for m in _NUMBER.finditer(text):
            raw = m.group(0)
            if m.group("arabic"):
                value: int | float = float(raw) if "." in raw else int(raw)
            elif m.group("circled"):
                value = CIRCLED[raw]
            else:
                if raw == "一" and m.group("measured") and text[m.end()] in "个次":
                    continue  # 一个人, 一次: an article more often than a count
                parsed = chinese_to_int(raw)
                if parsed is None:
                    continue
                value = parsed
            spans.append(Span("number", value, m.start(), m.end(), 1.0, "NumberExtractor"))
        return spans
