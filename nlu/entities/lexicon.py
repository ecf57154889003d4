"""Dictionary entities (``policy``, ``need_category``): surface forms from the lookup tables
of ``nlu/data``, mapped to canonical values through its synonyms.

One compiled alternation, longest surface first (a trie: ``nlu.literals``), finds every non-overlapping mention in a
single pass. ASCII surfaces must start at a word boundary (``pension`` not in ``suspension``).
*Blockers* are longer phrases that contain a surface but do not mean it (工作人员 is not a
need for work); they are matched and dropped.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from nlu.entities.base import Span
from nlu.literals import alternation
from nlu.normalize import normalize

__all__ = ["LexiconExtractor"]

BLOCKERS: dict[str, tuple[str, ...]] = {
    "need_category": ("工作人员", "工作日", "社工工作", "老人家你好", "房子被火", "老人去世"),
    "policy": (),
}


class LexiconExtractor:
    def __init__(self, entity: str, surfaces: Iterable[str], synonyms: Mapping[str, str]):
        self.entity = entity
        table: dict[str, str | None] = {}
        for raw in surfaces:
            surface = normalize(raw)
            if surface:
                table[surface] = synonyms.get(surface, surface)
        for blocker in BLOCKERS.get(entity, ()):
            table.setdefault(normalize(blocker), None)
        self._table = table
        self._pattern = re.compile(alternation(table, guard_ascii=True)) if table else None

    @property
    def values(self) -> set[str]:
        return {v for v in self._table.values() if v}

    def surfaces_of(self, value: str) -> list[str]:
        return [s for s, v in self._table.items() if v == value]

    def extract(self, text: str) -> list[Span]:
        if self._pattern is None:
            return []
        spans = []
        for m in self._pattern.finditer(text):
            value = self._table.get(m.group(0))
            if value is not None:
                spans.append(Span(self.entity, value, m.start(), m.end(), 1.0, "LexiconExtractor"))
        return spans
