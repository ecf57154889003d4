"""Regex entities declared in the ``regex:`` blocks of ``nlu/data`` (e.g. ``phone``).
The value is the matched text without separators."""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from nlu.entities.base import Span

__all__ = ["RegexExtractor"]


class RegexExtractor:
    def __init__(self, regexes: Mapping[str, Sequence[str]]):
        self._patterns = [(name, re.compile(p)) for name, ps in regexes.items() for p in ps]

    def extract(self, text: str) -> list[Span]:
        spans = []
        for name, pattern in self._patterns:
            for m in pattern.finditer(text):
                value = re.sub(r"[\s-]", "", m.group(0))
                spans.append(Span(name, value, m.start(), m.end(), 1.0, "RegexExtractor"))
        return spans
