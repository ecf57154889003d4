"""A learnt scorer for the policy search: which policy does a situation describe?

The situation lexicon (``nlu/data/kb_lexicon.yml``) only knows the phrases someone wrote down;
an outsider's words miss it. This model learns the policies from examples instead: a linear
classifier over character 1–4-grams and jieba words (``nlu.features``, the intent model's
features), trained on each policy record's own passages (who qualifies, what it covers, its
keywords, labelled by the record) and on the labelled questions of ``SITUATION_FILES``. Shared
character n-grams (化疗 in 化疗费, 漏 in 漏雨) carry it past phrases nobody listed.
The search adds a weight × its probability to each policy's score (``nlu/kb.py``).
The held-out sets (``nlu/data/test/``) are never trained on. Training takes under a second of
CPU; a model is cached per set of documents, so indexes of one knowledge base share it.
"""
from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from nlu.classifier import IntentModel, SeedAveragedSGD

__all__ = ["SITUATION_FILES", "SituationModel", "situation_model"]

ALPHA = 1e-5  # SGD's L2 penalty
SEEDS = 1  # SGD runs averaged: 2 or 5 (the intent model's) cost 0.85 s or 2.6 s here and rank no better (docs/nlu.md)
DATA = Path(__file__).parent / "data"
SITUATION_FILES = (DATA / "kb_situations_dev.yml", DATA / "kb_eval.yml")
_lock = threading.Lock()
_models: dict[str, "SituationModel | None"] = {}


@dataclass(frozen=True, slots=True)
class SituationModel:
    model: IntentModel
    labels: list[str]

    def probabilities(self, folded: str) -> dict[str, float]:
        """Policy id → probability, for a question already dialect-folded (``kb._fold``)."""
        return dict(zip(self.labels, self.model.probabilities(folded.lower()).tolist()))


def _questions(path: Path) -> list[tuple[str, list[str]]]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if isinstance(raw, dict):
        raw = raw.get("questions", [])
    return [(str(q["question"]), [str(p) for p in (q["policy"] if isinstance(q["policy"], list) else [q["policy"]])])
            for q in raw]


def situation_model(records: Sequence[tuple[str, list[str]]], fold: Callable[[str], str],
                    files: Sequence[Path] | None = None) -> SituationModel | None:
    """The model for these records — (policy id, its passages) — cached by their content;
    None when fewer than three policies are known."""
    files = SITUATION_FILES if files is None else tuple(files)
    key = hashlib.sha256(repr((list(records), [str(f) for f in files])).encode()).hexdigest()
    with _lock:
        if key in _models:
            return _models[key]
    model = _train(records, fold, files)
    with _lock:
        _models[key] = model
        while len(_models) > 8:
            _models.pop(next(iter(_models)))
    return model


def _train(records, fold, files) -> SituationModel | None:
    known = {pid for pid, _ in records}
    if len(known) < 3:  # two classes would make SGD's one-column binary model
        return None
    texts, labels = [], []
    for pid, passages in sorted(records):  # SGD follows the order: the same records, the same model
        for p in passages:
            texts.append(fold(p).lower())
            labels.append(pid)
    for path in files:
        for question, right in _questions(path):
            for pid in right:
                if pid in known:  # a knowledge base without that policy has nothing to learn from it
                    texts.append(fold(question).lower())
                    labels.append(pid)
    from nlu.features import Featurizer

    featurizer = Featurizer()
    matrix = featurizer.fit_transform(texts)
    est = SeedAveragedSGD(seeds=SEEDS, alpha=ALPHA).fit(matrix, labels)
    coef = np.ascontiguousarray(np.asarray(est.coef_, dtype=np.float64).T)
    model = IntentModel(featurizer, [str(c) for c in est.classes_], coef, np.asarray(est.intercept_, dtype=np.float64),
                        "logreg")
    return SituationModel(model, model.labels)
