"""A second opinion on danger for the safety question: emergency vs need vs the rest.

The intent classifier never sees the 1,500+ need lines of ``nlu/data/needs`` (they train the
need-category model only), so hard lives told plainly — debts, grief, a roof falling in, a
husband who lost his job — can reach its ``emergency`` probability of 0.5 and get the safety
question. This model learns the same features from every training example (``emergency``,
``report_need``, the rest) *and* those need lines. The parser asks it only where the lexicon
sees nothing and the classifier alone would ask the question (eighth round, 2026-12-07).
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nlu.classifier import IntentModel, train_intent_model
from nlu.normalize import normalize
from nlu.training_data import TrainingData, load_training_data

__all__ = ["emergency_probability", "train_danger_model"]

EMERGENCY, NEED, OTHER = "emergency", "report_need", "other"


def train_danger_model(data: TrainingData, canonicalize, need_paths: Sequence[Path] = (),
                       extra_needs: Sequence[str] = ()) -> IntentModel | None:
    texts, labels = [], []
    for ex in data.examples:
        texts.append(canonicalize(normalize(ex.text)))
        labels.append(ex.intent if ex.intent in (EMERGENCY, NEED) else OTHER)
    for path in need_paths:
        for ex in load_training_data(path, synonyms_from=data).examples:
            texts.append(canonicalize(normalize(ex.text)))
            labels.append(NEED)
    for text in extra_needs:  # need lines given as text (nlu/emergency_folds.py)
        texts.append(canonicalize(normalize(text)))
        labels.append(NEED)
    if EMERGENCY not in labels:
        return None
    return train_intent_model(texts, labels)


def emergency_probability(model: IntentModel | None, canonical_text: str) -> float:
    """The model's probability that the message tells an emergency (1.0 without a model)."""
    if model is None:
        return 1.0
    return float(model.probabilities(canonical_text)[model.labels.index(EMERGENCY)])
