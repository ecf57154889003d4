"""Writing a Rasa 3 project from ``nlu/data`` so that ``rasa train nlu`` can train DIET on
exactly the data the built-in NLU learns from (for a side-by-side comparison)."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from nlu.parser import FALLBACK_THRESHOLD, INTENTS
from nlu.training_data import DATA_DIR, data_files, load_training_data

__all__ = ["RASA_CONFIG", "export_rasa_project"]

RASA_CONFIG = {
    "recipe": "default.v1",
    "language": "zh",
    "assistant_id": "xiangzhu",
    "pipeline": [
        {"name": "JiebaTokenizer"},
        {"name": "RegexFeaturizer"},
        {"name": "LexicalSyntacticFeaturizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "CountVectorsFeaturizer", "analyzer": "char_wb", "min_ngram": 1, "max_ngram": 4},
        {"name": "DIETClassifier", "epochs": 100, "constrain_similarities": True},
        {"name": "EntitySynonymMapper"},
        {"name": "RegexEntityExtractor", "use_lookup_tables": True, "use_regexes": True},
        {"name": "FallbackClassifier", "threshold": FALLBACK_THRESHOLD},
    ],
    "policies": [],
}


def export_rasa_project(target: Path, data_dir: Path | None = None) -> list[Path]:
    source = data_dir or DATA_DIR
    target = Path(target)
    (target / "data").mkdir(parents=True, exist_ok=True)
    written = []
    for i, file in enumerate(data_files(source)):
        dest = target / "data" / f"nlu_{i:02d}_{file.stem}.yml"
        shutil.copyfile(file, dest)
        written.append(dest)
    data = load_training_data(source)
    entities = sorted({"policy", "need_category", "activity", "phone", *(a.entity for ex in data.examples for a in ex.entities)})
    domain = {"version": "3.1", "intents": list(INTENTS), "entities": entities}
    for name, content in (("config.yml", RASA_CONFIG), ("domain.yml", domain)):
        path = target / name
        path.write_text(yaml.safe_dump(content, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
