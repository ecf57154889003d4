"""The span every entity extractor returns."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Span", "overlaps"]


@dataclass(frozen=True, slots=True)
class Span:
    entity: str
    value: Any
    start: int  # offsets into the normalized text
    end: int
    confidence: float
    extractor: str


def overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end
