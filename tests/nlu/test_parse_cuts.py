"""The NLU's CPU cuts (docs/performance.md, 2026-12-07, nlufast) give what the plain forms gave:
each fast path is compared with the straightforward computation it replaced, on the test split."""
from collections import Counter

import numpy as np
import pytest

from nlu.features import CHAR_NGRAMS, raw_features
from nlu.normalize import normalize
from nlu.tokenize import words
from nlu.training_data import TEST_DIR, load_training_data


@pytest.fixture(scope="module")
def texts():
    found = [ex.text for ex in load_training_data(TEST_DIR / "test.yml").examples]
    for path in sorted((TEST_DIR / "styles").glob("*.yml")):
        found += [ex.text for ex in load_training_data(path).examples]
    return found + ["", " ", "a", "救命", "hello world", "低保 低保 低保"]


def plain_features(text: str) -> Counter:
    """features.raw_features as first written: one Counter.update per kind."""
    feats: Counter = Counter()
    compact = text.replace(" ", "")
    padded = f"^{compact}$"
    for n in CHAR_NGRAMS:
        if n == 1:
            feats.update("c:" + ch for ch in compact)
        else:
            feats.update("c:" + padded[i : i + n] for i in range(len(padded) - n + 1))
    toks = words(text)
    feats.update("w:" + t for t in toks)
    feats.update("b:" + a + "|" + b for a, b in zip(toks, toks[1:]))
    if not toks:
        feats["empty"] += 1
    return feats


def test_features_are_counted_as_before_in_the_same_order(nlu, texts):
    for text in texts:
        canonical = nlu.canonicalize(normalize(text))
        fast, plain = raw_features(canonical), plain_features(canonical)
        assert list(fast.items()) == list(plain.items()), text  # the order fixes the sums' order


def test_vectors_are_the_plain_tf_idf_bit_for_bit(nlu, texts):
    featurizer = nlu.model.featurizer
    for text in texts:
        canonical = nlu.canonicalize(normalize(text))
        feats = plain_features(canonical)
        known = [f for f in feats if f in featurizer.vocabulary]
        index, weights = featurizer.vector(canonical)
        assert index.tolist() == [featurizer.vocabulary[f] for f in known], text
        if known:
            counts = np.fromiter((feats[f] for f in known), dtype=float, count=len(known))
            plain = (1.0 + np.log(counts)) * featurizer.idf[np.asarray(index)]
            plain /= np.sqrt(plain @ plain)
            assert weights.tobytes() == plain.tobytes(), text
