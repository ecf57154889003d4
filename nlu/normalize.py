"""Text normalization with an offset map back to the original text.

Every other part of the NLU works on normalized text: traditional characters become
simplified (OpenCC tables, 1:1 per character so offsets stay simple), full-width ASCII
becomes half-width, letters are lower-cased, runs of the same punctuation mark collapse to
one (``!!!`` → ``!``, ``。。。`` → ``。``), whitespace runs collapse to one space. Emoji and
circled digits (①) are kept: they carry meaning (🔥, 😭, a choice number).

``normalize_with_offsets`` also returns, for each normalized character, the index of the
original character it came from, so entity ``start``/``end`` can index the original text.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import opencc

__all__ = ["Normalized", "normalize", "normalize_with_offsets"]


@dataclass(frozen=True, slots=True)
class Normalized:
    text: str
    origin: tuple[int, ...]  # origin[i] = index in the original text of normalized char i
    original: str

    def span_to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map the normalized span [start, end) to a span of the original text."""
        if start >= end:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


@lru_cache(maxsize=1)
def _t2s_table() -> dict[str, str]:
    """Single-character traditional→simplified table from OpenCC's dictionary."""
    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2 and len(parts[0]) == 1:
            simplified = parts[1].split(" ")[0]
            if len(simplified) == 1 and simplified != parts[0]:
                table[parts[0]] = simplified
    return table


_PUNCT_CATEGORIES = {"Po", "Pd", "Ps", "Pe", "Pi", "Pf", "Pc"}


def _is_punct(ch: str) -> bool:
    return ch in "~～…" or unicodedata.category(ch) in _PUNCT_CATEGORIES


def _fold(ch: str, t2s: dict[str, str]) -> str:
    code = ord(ch)
    if 0xFF01 <= code <= 0xFF5E:  # full-width ASCII
        ch = chr(code - 0xFEE0)
    elif code == 0x3000 or ch in "\t\r\n\u00a0":
        ch = " "
    ch = t2s.get(ch, ch)
    lowered = ch.lower()
    return lowered if len(lowered) == 1 else ch


# character -> its folded form, filled as characters are seen (the folding is per character)
_FOLDED: dict[str, str] = {}


def normalize_with_offsets(text: str) -> Normalized:
    folded = _FOLDED
    out: list[str] = []
    origin: list[int] = []
    for i, raw in enumerate(text):
        ch = folded.get(raw)
        if ch is None:
            ch = _fold(raw, _t2s_table())
            if len(folded) < 50_000:  # bounded: a flood of odd characters cannot grow it forever
                folded[raw] = ch
        if out:
            prev = out[-1]
            if ch == " " and prev == " ":
                continue
            if ch == prev and _is_punct(ch):
                continue
        out.append(ch)
        origin.append(i)
    # trim surrounding spaces
    while out and out[0] == " ":
        out.pop(0)
        origin.pop(0)
    while out and out[-1] == " ":
        out.pop()
        origin.pop()
    return Normalized("".join(out), tuple(origin), text)


def normalize(text: str) -> str:
    """Normalized form of ``text`` (see the module docstring)."""
    return normalize_with_offsets(text).text
