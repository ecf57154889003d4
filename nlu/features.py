"""Sparse features of canonical text: character 1–4-grams plus jieba words and word pairs.

Written by hand rather than with scikit-learn's vectorizers because parsing one short
message must take well under a millisecond: the vocabulary is a dict, the vector is a pair
of small numpy arrays (indices, tf-idf weights), L2-normalized.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from contextlib import contextmanager
from functools import lru_cache

import numpy as np
from scipy import sparse

from nlu.tokenize import words

__all__ = ["Featurizer", "raw_features"]

CHAR_NGRAMS = (1, 2, 3, 4)


def raw_features(text: str) -> Counter:
    """Feature name → count for one canonical text (in order of first occurrence: character
    1- to 4-grams, words, word pairs — the order the vector's sums follow)."""
    compact = text.replace(" ", "")
    padded = f"^{compact}$"
    names: list[str] = []
    for n in CHAR_NGRAMS:
        if n == 1:
            names += ["c:" + ch for ch in compact]
        else:
            names += ["c:" + padded[i : i + n] for i in range(len(padded) - n + 1)]
    toks = words(text)
    names += ["w:" + t for t in toks]
    names += ["b:" + a + "|" + b for a, b in zip(toks, toks[1:])]
    feats = Counter(names)  # one pass of counting: Counter.update per kind costs more than the n-grams
    if not toks:
        feats["empty"] += 1
    return feats


# the intent model and the need-category model featurize the same canonical text in one parse
_recent_features = lru_cache(maxsize=16)(raw_features)
_remembered: dict[str, Counter] | None = None


@contextmanager
def remembering():
    """Within it, the features of a text are computed once: training featurizes the same lines
    for the intent, need and danger models (read only, like ``_recent_features``)."""
    global _remembered
    _remembered = {}
    try:
        yield
    finally:
        _remembered = None


def _features_of(text: str) -> Counter:
    if _remembered is None:
        return raw_features(text)
    found = _remembered.get(text)
    if found is None:
        found = _remembered[text] = raw_features(text)
    return found


class Featurizer:
    """Vocabulary and idf learnt from training texts; turns a text into a sparse vector."""

    def __init__(self, min_df: int = 1):
        self.min_df = min_df
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0)

    def fit_transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        counted = [_features_of(t) for t in texts]
        df: Counter = Counter()
        for feats in counted:
            df.update(feats.keys())
        names = sorted(f for f, c in df.items() if c >= self.min_df)
        self.vocabulary = {f: i for i, f in enumerate(names)}
        n = len(texts)
        self.idf = np.array([math.log((1 + n) / (1 + df[f])) + 1.0 for f in names])
        return self._matrix(counted)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self._matrix([_features_of(t) for t in texts])

    def vector(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(indices, weights) of one text; unknown features are dropped."""
        feats = _recent_features(text)  # read only: shared with other parses of the same text
        known = self.vocabulary.get
        idx: list[int] = []
        counts: list[int] = []
        repeated = False
        for name, count in feats.items():  # one pass: a look-up per feature
            i = known(name)
            if i is not None:
                idx.append(i)
                counts.append(count)
                repeated = repeated or count > 1
        if not idx:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        index = np.array(idx, dtype=np.int64)
        if repeated:
            weights = (1.0 + np.log(np.array(counts, dtype=float))) * self.idf[index]
        else:  # every count 1: (1 + log 1) · idf is idf itself, bit for bit
            weights = self.idf[index]  # a new array (fancy indexing copies)
        weights /= np.sqrt(weights @ weights)
        return index, weights

    def _matrix(self, counted: list[Counter]) -> sparse.csr_matrix:
        rows, cols, vals = [], [], []
        vocab = self.vocabulary
        for r, feats in enumerate(counted):
            items = [(vocab[f], c) for f, c in feats.items() if f in vocab]
            if not items:
                continue
            index = np.array([i for i, _ in items])
            weights = (1.0 + np.log([c for _, c in items])) * self.idf[index]
            weights /= np.sqrt(weights @ weights)
            rows.extend([r] * len(items))
            cols.extend(index.tolist())
            vals.extend(weights.tolist())
        return sparse.csr_matrix((vals, (rows, cols)), shape=(len(counted), len(vocab)))
