"""Consequence concepts of daily life as features of the need-category model.

``nlu/data/need_concepts.yml`` maps each need category to concepts (a roof, a crack, school
fees, nobody hiring, an elder alone, a field lost to hail…), each a list of regular
expressions over the canonical text. A message that names a concept gets the features
``k:<category>/<concept>`` and ``k=<category>`` (one count per matched concept), added to the
n-grams the model already sees: a sentence whose words the model never saw but whose concept
it knows still scores that concept's category. Patterns are compiled once into one
alternation per concept, so matching costs a few regex searches per need message.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import yaml

from nlu.training_data import DATA_DIR, NEED_CONCEPTS

__all__ = ["CONCEPTS_FILE", "ConceptLexicon"]

CONCEPTS_FILE = DATA_DIR / NEED_CONCEPTS


class ConceptLexicon:
    def __init__(self, concepts: dict[str, dict[str, list[str]]]):
        self.patterns = [
            (f"k:{category}/{name}", f"k={category}", re.compile("|".join(f"(?:{p})" for p in patterns)))
            for category, by_name in concepts.items() for name, patterns in by_name.items() if patterns
        ]

    @classmethod
    def load(cls, path: Path = CONCEPTS_FILE) -> "ConceptLexicon":
        return cls(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def features(self, canonical_text: str) -> Counter:
        found: Counter = Counter()
        for concept, category, pattern in self.patterns:
            if pattern.search(canonical_text):
                found[concept] += 1
                found[category] += 1
        return found

    def categories(self, canonical_text: str) -> Counter:
        """Category → number of its concepts the text names."""
        return Counter({k[2:]: v for k, v in self.features(canonical_text).items() if k.startswith("k=")})
