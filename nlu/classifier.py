"""The intent classifier: a linear model over ``Featurizer`` vectors.

scikit-learn trains it; parsing uses only the learnt weight matrix (numpy dot product and
a softmax), which keeps one prediction in the tens of microseconds and makes the model
read-only and therefore safe to share between threads.

Algorithms compared (see ``docs/nlu.md`` for the figures): ``logreg`` (logistic loss
trained by SGD, one-vs-rest, weights averaged over 5 seeds — the default: best accuracy
here and trains in about a second), ``lbfgs`` (multinomial LogisticRegression, a little less accurate and 20–60× slower
to train), ``sgd`` (SGDClassifier, modified Huber loss) and ``svm`` (LinearSVC without
calibration). The confidence is a softmax of the linear scores.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nlu.features import Featurizer

__all__ = ["ALGORITHMS", "IntentModel", "train_intent_model"]

ALGORITHMS = ("logreg", "lbfgs", "sgd", "svm")
SEEDS = 5


class SeedAveragedSGD:
    """Logistic loss by SGD, trained with several shuffling seeds whose weights are averaged:
    one linear model (parsing costs the same as one run) that does not swing by a point of
    accuracy with the seed, as a single SGD run does on ~1,500 examples."""

    def __init__(self, seeds: int = SEEDS, alpha: float = 1e-5):
        self.seeds = seeds
        self.alpha = alpha

    def fit(self, matrix, labels):
        from sklearn.linear_model import SGDClassifier

        runs = [
            SGDClassifier(loss="log_loss", alpha=self.alpha, max_iter=100, class_weight="balanced", random_state=seed).fit(
                matrix, labels
            )
            for seed in range(self.seeds)
        ]
        self.classes_ = runs[0].classes_
        self.coef_ = np.mean([run.coef_ for run in runs], axis=0)
        self.intercept_ = np.mean([run.intercept_ for run in runs], axis=0)
        return self


def _estimator(algorithm: str):
    if algorithm == "logreg":
        return SeedAveragedSGD(seeds=SEEDS, alpha=1e-5)
    if algorithm == "lbfgs":
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=20.0, max_iter=3000, class_weight="balanced")
    if algorithm == "sgd":
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(loss="modified_huber", alpha=1e-4, max_iter=200, class_weight="balanced", random_state=7)
    if algorithm == "svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(C=0.5, class_weight="balanced")
    raise ValueError(f"Classifier algorithm {algorithm!r} is unknown; choose one of {', '.join(ALGORITHMS)}.")


@dataclass
class IntentModel:
    featurizer: Featurizer
    labels: list[str]
    weights: np.ndarray  # (n_features, n_labels), C-contiguous: a row gather per feature
    bias: np.ndarray
    algorithm: str
    temperature: float = 1.0

    def scores(self, canonical_text: str) -> np.ndarray:
        index, values = self.featurizer.vector(canonical_text)
        if index.size == 0:
            return self.bias.copy()
        return values @ self.weights[index] + self.bias

    def probabilities(self, canonical_text: str) -> np.ndarray:
        z = self.scores(canonical_text)  # a new array: changed in place below
        if self.temperature != 1.0:  # x * 1.0 is x: the array is not copied for nothing
            z = z * self.temperature
        z -= z.max()
        e = np.exp(z)
        return e / e.sum()


def train_intent_model(texts: Sequence[str], intents: Sequence[str], algorithm: str = "logreg", *,
                       alpha: float | None = None, min_df: int = 1) -> IntentModel:
    """`alpha` (``logreg`` only) and `min_df` let another model of the same kind (the need
    categories) choose its own regularization and vocabulary."""
    featurizer = Featurizer(min_df=min_df)
    matrix = featurizer.fit_transform(texts)
    estimator = SeedAveragedSGD(seeds=SEEDS, alpha=alpha) if algorithm == "logreg" and alpha is not None else _estimator(algorithm)
    estimator.fit(matrix, list(intents))
    labels = [str(c) for c in estimator.classes_]
    coef = np.asarray(estimator.coef_, dtype=np.float64)
    bias = np.asarray(estimator.intercept_, dtype=np.float64)
    temperature = 3.0 if algorithm == "svm" else 1.0
    return IntentModel(featurizer, labels, np.ascontiguousarray(coef.T), bias, algorithm, temperature)
