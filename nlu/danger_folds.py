"""Fair safety-question figure on ``nlu/data/needs`` (``python -m nlu.danger_folds [THRESHOLD]``).

The danger model (``nlu/danger.py``) trains on those need lines, so ``xiangzhu nlu eval
nlu/data/needs/`` shows it no questions there. Here each line is parsed with a danger model that
did not see it (5 folds); the intent and need-category models are the repo's, as in the eval.
"""
from __future__ import annotations

import dataclasses
import random
import sys
import tempfile
from pathlib import Path

import yaml

import nlu.parser as parser
from nlu.danger import train_danger_model
from nlu.parser import NLU
from nlu.training_data import load_training_data, need_files

FOLDS = 5


def main(threshold: float = parser.DANGER_SECOND_OPINION) -> None:
    nlu = NLU.load()
    parser.DANGER_SECOND_OPINION = threshold
    texts = [ex.text for path in need_files(None) for ex in load_training_data(path, synonyms_from=nlu.data).examples]
    order = list(range(len(texts)))
    random.Random(7).shuffle(order)
    fold = {i: n % FOLDS for n, i in enumerate(order)}
    pages = questions = 0
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(FOLDS):
            kept = Path(tmp) / f"needs-{k}.yml"
            lines = "".join(f"- {texts[i]}\n" for i in range(len(texts)) if fold[i] != k)
            kept.write_text(yaml.safe_dump({"version": "3.1", "nlu": [{"intent": "report_need", "examples": lines}]},
                                           allow_unicode=True), encoding="utf-8")
            nlu.trained = dataclasses.replace(nlu.trained, danger_model=train_danger_model(nlu.data, nlu.canonicalize, [kept]))
            for i in (i for i in range(len(texts)) if fold[i] == k):
                level = nlu.parse(texts[i])["emergency"]["level"]
                pages += level == "certain"
                questions += level == "unsure"
    n = len(texts)
    print(f"needs {n}, threshold {threshold}: pages {pages} ({pages / n:.2%}), safety questions {questions} ({questions / n:.2%})")


if __name__ == "__main__":  # pragma: no cover
    main(*(float(a) for a in sys.argv[1:2]))
