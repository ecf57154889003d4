"""``activity`` and ``village`` entities from the database's names and aliases.

The value of each entity is the database id **as a string** (``"12"``), so the flow engine
can look the row up. A name or alias found verbatim in the normalized text wins (confidence
1.0); otherwise names of three or more characters are matched fuzzily with rapidfuzz
(``partial_ratio`` ≥ 75 for activities: one wrong character in four; ≥ 90 for villages), which forgives a wrong or missing character
(巧娘斑 → 巧娘班). A ``Gazetteer`` is immutable: ``NLU.set_gazetteer`` builds a new one and
swaps the reference, so parses running at that moment are unaffected.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from nlu.entities.base import Span, overlaps
from nlu.literals import alternation
from nlu.normalize import normalize

__all__ = ["Gazetteer", "GazetteerEntry"]


@dataclass(frozen=True, slots=True)
class GazetteerEntry:
    entity: str
    value: str
    surface: str  # normalized name or alias


class Gazetteer:
    # a wrong village is worse than none: villages must match more closely than activities
    MIN_SCORE = {"activity": 75.0, "village": 90.0}

    def __init__(self, entries: Sequence[GazetteerEntry] = ()):
        self.entries = tuple(e for e in entries if e.surface)
        by_surface = {}
        for e in self.entries:
            by_surface.setdefault(e.surface, e)
        self._by_surface = by_surface
        self._exact = re.compile(alternation(by_surface)) if by_surface else None  # longest name first
        self._fuzzy = [e for e in self.entries if len(e.surface) >= 3]
        self._fuzzy_surfaces = [e.surface for e in self._fuzzy]
        self._lowest_cutoff = min((self.MIN_SCORE.get(e.entity, 90.0) for e in self._fuzzy), default=100.0)

    @classmethod
    def from_rows(
        cls,
        activities: Sequence[tuple[int, str, Sequence[str]]],
        villages: Sequence[tuple[int, str, Sequence[str]]],
    ) -> "Gazetteer":
        entries = []
        for entity, rows in (("activity", activities), ("village", villages)):
            for row_id, name, aliases in rows:
                for surface in (name, *aliases):
                    entries.append(GazetteerEntry(entity, str(row_id), normalize(surface)))
        return cls(entries)

    @property
    def words(self) -> list[str]:
        return [e.surface for e in self.entries]

    def extract(self, text: str) -> list[Span]:
        if self._exact is None or not text:
            return []
        spans: list[Span] = []
        for m in self._exact.finditer(text):
            e = self._by_surface[m.group(0)]
            spans.append(Span(e.entity, e.value, m.start(), m.end(), 1.0, "GazetteerExtractor"))
        found = {(s.entity, s.value) for s in spans}
        candidates = []
        # one call scores every name (partial_ratio is symmetric); only names that pass are aligned
        close = process.extract(text, self._fuzzy_surfaces, scorer=fuzz.partial_ratio,
                                score_cutoff=self._lowest_cutoff, limit=None)
        for _surface, _score, index in sorted(close, key=lambda hit: hit[2]):
            e = self._fuzzy[index]
            if (e.entity, e.value) in found:
                continue
            cutoff = self.MIN_SCORE.get(e.entity, 90.0)
            alignment = fuzz.partial_ratio_alignment(e.surface, text, score_cutoff=cutoff)
            if alignment is None:
                continue
            start, end = alignment.dest_start, alignment.dest_end
            if end - start < len(e.surface):  # the aligned window dropped a mistyped edge character
                start = max(0, start - alignment.src_start)
                end = min(len(text), end + len(e.surface) - alignment.src_end)
                if end - start < len(e.surface):
                    start = max(0, end - len(e.surface))
            # rescore the whole window: partial_ratio alone favours short windows at the text's edges
            score = fuzz.ratio(e.surface, text[start:end])
            if end - start != len(e.surface) or score < cutoff:
                continue
            candidates.append(Span(e.entity, e.value, start, end, round(score / 100, 3), "GazetteerExtractor"))
        for cand in sorted(candidates, key=lambda s: -s.confidence):
            if (cand.entity, cand.value) in found or any(overlaps(cand, s) for s in spans):
                continue
            spans.append(cand)
            found.add((cand.entity, cand.value))
        return spans
