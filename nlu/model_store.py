"""Training the intent model, and caching it on disk.

The cache file name is a sha256 over the training data files, ``MODEL_FORMAT``, the source
of the modules that shape the model (normalization, canonical text, features, classifier),
the algorithm, and the scikit-learn and jieba versions — so any change retrains, and
nothing stale is ever loaded. Files are written atomically (temp file + rename), so
processes starting together cannot read half a model.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jieba
import sklearn

import nlu.normalize as normalize
from nlu import canonical, classifier, danger, features, literals, tokenize
from nlu.canonical import Canonicalizer
from nlu.classifier import IntentModel, train_intent_model
from nlu.entities import need
from nlu.training_data import DATA_DIR, TrainingData, fingerprint, need_files

__all__ = ["MODEL_FORMAT", "TrainedModel", "cache_key", "default_cache_dir", "load_or_train", "train"]

log = logging.getLogger(__name__)

MODEL_FORMAT = "3"  # 3: the pickle holds (intent model, need-category model, danger model)
DEFAULT_ALGORITHM = "logreg"


@dataclass
class TrainedModel:
    intent_model: IntentModel
    need_model: IntentModel | None
    key: str
    train_seconds: float
    from_cache: bool
    path: Path | None = None
    danger_model: IntentModel | None = None  # emergency vs need vs the rest (nlu/danger.py)


def default_cache_dir() -> Path:
    return Path(os.environ.get("XIANGZHU_NLU_CACHE_DIR", "./data/nlu-cache"))


def _code_digest() -> str:
    digest = hashlib.sha256()
    for module in (normalize, canonical, literals, tokenize, features, classifier, need, danger):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()


def cache_key(data_dir: Path | None = None, algorithm: str = DEFAULT_ALGORITHM) -> str:
    parts = [fingerprint(data_dir or DATA_DIR), MODEL_FORMAT, _code_digest(), algorithm, sklearn.__version__, jieba.__version__]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]


def train(data: TrainingData, canonicalizer: Canonicalizer,
          algorithm: str = DEFAULT_ALGORITHM, data_dir: Path | None = None) -> tuple[tuple[IntentModel, IntentModel | None, IntentModel | None], float]:
    started = time.perf_counter()
    seen: dict[str, str] = {}  # the three models canonicalize the same lines: once each

    def canonicalize(text: str) -> str:
        if text not in seen:
            seen[text] = canonicalizer(text)
        return seen[text]

    with features.remembering():
        texts = [canonicalize(normalize.normalize(ex.text)) for ex in data.examples]
        model = train_intent_model(texts, [ex.intent for ex in data.examples], algorithm)
        need_model = need.train_need_model(data, canonicalize, need_files(data_dir))
        danger_model = danger.train_danger_model(data, canonicalize, need_files(data_dir))
    return (model, need_model, danger_model), time.perf_counter() - started


def load_or_train(
    data: TrainingData,
    canonicalizer: Canonicalizer,
    cache_dir: Path | None,
    data_dir: Path | None = None,
    algorithm: str = DEFAULT_ALGORITHM,
    force: bool = False,
) -> TrainedModel:
    key = cache_key(data_dir, algorithm)
    directory = cache_dir if cache_dir is not None else default_cache_dir()
    path = directory / f"intent-{algorithm}-{key}.pkl"
    if not force and path.exists():
        try:
            with path.open("rb") as fh:
                model, need_model, danger_model = pickle.load(fh)
            return TrainedModel(model, need_model, key, 0.0, True, path, danger_model)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError) as exc:
            log.warning("NLU model cache %s is unreadable (%s); retraining", path, exc)
    (model, need_model, danger_model), seconds = train(data, canonicalizer, algorithm, data_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("wb", dir=directory, delete=False, suffix=".tmp") as fh:
            pickle.dump((model, need_model, danger_model), fh, protocol=pickle.HIGHEST_PROTOCOL)
            tmp = Path(fh.name)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("NLU model cache %s cannot be written (%s); continuing without it", path, exc)
        path = None
    return TrainedModel(model, need_model, key, seconds, False, path, danger_model)
