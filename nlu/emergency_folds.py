"""Fair emergency figures on the training lines (``python -m nlu.emergency_folds [--holdout PREFIX] [--out F]``).

Every intent example of ``nlu/data`` and every need line of ``nlu/data/needs`` is parsed by an
intent classifier *and* a danger model that did not train on it: 5 random folds, or with
``--holdout voices4_`` the training and need files whose name starts so are left out and scored
(an author hold-out). Prints recall on the emergencies and pages / safety questions on the need
lines and the other intents, and with ``--out`` writes one JSON line per scored line (its level with
the danger model's own question switched off, and the danger model's emergency probability) so that
``DANGER_ALONE`` can be chosen without training again.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sys
from pathlib import Path

import nlu.parser as parser
from nlu import features
from nlu.classifier import train_intent_model
from nlu.danger import emergency_probability, train_danger_model
from nlu.emergency import detect_normalized, told_as_past
from nlu.normalize import normalize, normalize_with_offsets
from nlu.parser import NLU
from nlu.training_data import DATA_DIR, TrainingData, load_training_data, need_files

FOLDS = 5


def _lines(nlu: NLU) -> list[tuple[str, str, str, bool]]:
    """(text, intent, file stem, is a need line) for every training example and need line."""
    by_file: dict[str, str] = {}
    for path in sorted((DATA_DIR / "train").rglob("*.yml")):
        for ex in load_training_data(path, synonyms_from=nlu.data).examples:
            by_file.setdefault(ex.text, path.stem)
    rows = [(ex.text, ex.intent, by_file.get(ex.text, ""), False) for ex in nlu.data.examples]
    for path in need_files(None):
        rows += [(ex.text, "report_need", path.stem, True) for ex in load_training_data(path, synonyms_from=nlu.data).examples]
    return rows


def _train(nlu: NLU, rows, keep) -> None:
    data = dataclasses.replace(nlu.data, examples=[ex for ex, k in zip(nlu.data.examples, keep) if k])
    need_rows = [r for r, k in zip(rows, keep) if r[3] and k]
    with features.remembering():
        texts = [nlu.canonicalize(normalize(ex.text)) for ex in data.examples]
        model = train_intent_model(texts, [ex.intent for ex in data.examples])
        danger = train_danger_model(data, nlu.canonicalize, (), extra_needs=[r[0] for r in need_rows])
    nlu.trained = dataclasses.replace(nlu.trained, intent_model=model, danger_model=danger)
    nlu.model = model
    nlu._emergency_index = model.labels.index("emergency")
    nlu._need_index = model.labels.index("report_need") if "report_need" in model.labels else None


def score(nlu: NLU, text: str) -> dict:
    """The parse's level without the danger model's own question, and the danger probability."""
    saved, parser.DANGER_ALONE = parser.DANGER_ALONE, 2.0
    try:
        level = nlu.parse(text)["emergency"]["level"]
    finally:
        parser.DANGER_ALONE = saved
    norm = normalize_with_offsets(text).text
    canonical = nlu.canonicalize(norm)
    alarm = detect_normalized(norm)
    probs = nlu.intent_probabilities(text)
    return {"alarm": alarm.level, "top": max(probs, key=probs.get), "past": told_as_past(norm),
            "level": level, "danger": round(emergency_probability(nlu.trained.danger_model, canonical), 4),
            "gate": parser.danger_may_ask(norm, detect_normalized(norm)),
            "p_emergency": round(nlu.intent_probabilities(text).get("emergency", 0.0), 4),
            "explained": detect_normalized(norm).explained}


def level_with(record: dict, threshold: float) -> str:
    if (record["level"] == "none" and record["gate"] and record["p_emergency"] >= parser.DANGER_ALONE_FLOOR
            and record["danger"] >= threshold):
        return "unsure"
    return record["level"]


def summary(records: list[dict], threshold: float) -> str:
    emerg = [r for r in records if r["intent"] == "emergency"]
    needs = [r for r in records if r["need_line"]]
    other = [r for r in records if r["intent"] != "emergency" and not r["need_line"]]
    caught = sum(level_with(r, threshold) != "none" for r in emerg)
    out = [f"threshold {threshold}: emergencies {len(emerg)} caught {caught} ({caught / max(len(emerg), 1):.3f})"]
    for name, group in (("need lines", needs), ("other intent lines", other)):
        q = sum(level_with(r, threshold) == "unsure" for r in group)
        p = sum(level_with(r, threshold) == "certain" for r in group)
        out.append(f"  {name} {len(group)}: pages {p} ({p / max(len(group), 1):.2%}) questions {q} ({q / max(len(group), 1):.2%})")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    args = argparse.ArgumentParser()
    args.add_argument("--holdout", help="leave out the files whose name starts so, and score them")
    args.add_argument("--out", type=Path)
    args.add_argument("--thresholds", default=f"{parser.DANGER_ALONE}")
    opts = args.parse_args(argv)
    nlu = NLU.load()
    rows = _lines(nlu)
    if opts.holdout:
        groups = [[i for i, r in enumerate(rows) if r[2].startswith(opts.holdout)]]
    else:
        order = list(range(len(rows)))
        random.Random(7).shuffle(order)
        groups = [order[k::FOLDS] for k in range(FOLDS)]
    records = []
    for group in groups:
        held = set(group)
        _train(nlu, rows, [i not in held for i in range(len(rows))])
        for i in group:
            text, intent, stem, need_line = rows[i]
            records.append({"text": text, "intent": intent, "file": stem, "need_line": need_line, **score(nlu, text)})
    if opts.out:
        opts.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    for t in (float(x) for x in opts.thresholds.split(",")):
        print(summary(records, t))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
