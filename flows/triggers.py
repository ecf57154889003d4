"""What starts a flow: its payload patterns (`/need {category}`), keywords and intents, as
the runtime matches them against a message."""
from __future__ import annotations

import re

from flows.model import Flow
from flows.texts import ENDS

__all__ = ["Trigger"]


class Trigger:
    def __init__(self, flow: Flow, version_id: int):
        self.flow = flow
        self.version_id = version_id
        self.keywords = [k.lower() for k in flow.triggers.keywords if k.strip()]
        self._longest_first = sorted(self.keywords, key=len, reverse=True)
        self.intents = set(flow.triggers.intents)
        self.payloads = [self._pattern(p) for p in flow.triggers.payloads]
        self.patterns = [re.compile(p) for p in flow.triggers.patterns]

    @staticmethod
    def _pattern(payload: str) -> re.Pattern:
        parts = re.split(r"\{(\w+)\}", payload)
        regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
        return re.compile(regex + r"\s*$", re.IGNORECASE)

    def match_payload(self, payload: str) -> dict | None:
        for pattern in self.payloads:
            m = pattern.match(payload.strip())
            if m:
                return m.groupdict()
        return None

    def match_text(self, text: str, whole: bool = False) -> dict | None:
        """`whole`: only a message that is nothing but the pattern ("XZ-2026-000123") counts."""
        if whole:
            text = text.strip().strip(ENDS)
        for pattern in self.patterns:
            m = pattern.fullmatch(text) if whole else pattern.search(text)
            if m:
                return m.groupdict()
        return None

    def keyword(self, text: str) -> int:
        """The length of the longest keyword in `text` (0: none)."""
        return self.keyword_in(text.lower())

    def keyword_in(self, lowered: str) -> int:
        """`keyword` of a text already lowered: the longest keywords are tried first."""
        for k in self._longest_first:
            if k in lowered:
                return len(k)
        return 0
