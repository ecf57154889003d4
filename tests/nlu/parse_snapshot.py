"""Record every parse of the NLU's evaluation texts, or compare them with a recording.

    python tests/nlu/parse_snapshot.py record FILE   # e.g. in a worktree of the base
    python tests/nlu/parse_snapshot.py compare FILE  # after a change: exit 1 on any difference

For each text of nlu/data/test/test.yml, nlu/data/test/styles/*.yml and
nlu/data/test/needs_indirect.yml, with and without a gazetteer: the full parse (intent,
ranking, entities, emergency), and the raw floats behind it (the intent, need-category and
danger models' probabilities, ``repr`` exact), so a cut of the NLU's CPU can be shown to give
identical outputs. The model is trained afresh in a temporary directory (nothing cached).
"""
from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime
from pathlib import Path

from nlu.parser import NLU
from nlu.normalize import normalize
from nlu.training_data import TEST_DIR, load_training_data

NOW = datetime(2026, 3, 2, 10, 0)  # a Monday
FILES = [TEST_DIR / "test.yml", *sorted((TEST_DIR / "styles").glob("*.yml")), TEST_DIR / "needs_indirect.yml"]


def texts() -> list[str]:
    found: list[str] = []
    for path in FILES:
        found += [ex.text for ex in load_training_data(path).examples]
    return found


def _floats(model, canonical: str) -> list[str] | None:
    return None if model is None else [repr(x) for x in model.probabilities(canonical).tolist()]


def record() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        nlu = NLU.load(Path(tmp), retrain=True)
        places = NLU.load(Path(tmp))
    places.set_gazetteer(
        activities=[(12, "巧娘班", ["巧娘手工班"]), (13, "互助学习小组", ["学习小组"]), (14, "电商培训", [])],
        villages=[(3, "张家村", ["张家"]), (4, "李家坪村", ["李家坪"])],
    )
    rows = []
    for text in texts():
        canonical = nlu.canonicalize(normalize(text))
        rows.append({
            "text": text,
            "parse": nlu.parse(text, now=NOW),
            "with_gazetteer": places.parse(text, now=NOW),
            "canonical": canonical,
            "intent_floats": _floats(nlu.model, canonical),
            "need_floats": _floats(nlu.trained.need_model, canonical),
            "danger_floats": _floats(nlu.trained.danger_model, canonical),
        })
    return rows


def main(argv: list[str]) -> int:
    mode, path = argv[1], Path(argv[2])
    rows = record()
    if mode == "record":
        path.write_text(json.dumps(rows, ensure_ascii=False, indent=0, default=str), encoding="utf-8")
        print(f"{len(rows)} texts recorded to {path}")
        return 0
    before = json.loads(path.read_text(encoding="utf-8"))
    after = json.loads(json.dumps(rows, ensure_ascii=False, default=str))
    if len(before) != len(after):
        print(f"{len(before)} texts recorded, {len(after)} now")
        return 1
    differ = [(b, a) for b, a in zip(before, after) if b != a]
    for b, a in differ[:10]:
        for key in b:
            if b[key] != a.get(key):
                print(f"{b['text']!r} {key}:\n  before {b[key]}\n  after  {a.get(key)}")
    print(f"{len(after)} texts compared, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
