"""Which language a message is written in: "zh", "en" or None (cannot tell).

Counts Chinese characters against Latin words, so "I need help with 低保" is English and
"我要报名 activity" is Chinese. A few microseconds per message (one regex pass each).
"""
from __future__ import annotations

import re

__all__ = ["detect_language"]

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z]{2,}")


def detect_language(text: str) -> str | None:
    han = len(_HAN.findall(text))
    words = len(_WORD.findall(text))
    if han == 0 and (words == 0 or sum(c.isdigit() for c in text) > sum(c.isascii() and c.isalpha() for c in text)):
        return None  # numbers, emoji, punctuation, a code like "xz 2026 000123"
    return "en" if words > han else "zh"
