"""Fit the coefficients of ``nlu/kb_rerank.py``: ``python -m nlu.kb_rerank_fit``. The fit is the
same under every string-hash seed (the search sorts what it would otherwise take in set order;
kb10 round), and ``tests/nlu/test_kb_rerank.py`` checks that the shipped ones are a fresh fit's.

The comparison learns from the search's own outputs, so those must be honest: the dev
situations (``nlu/data/kb_situations_dev.yml``) in 5 folds, each scored by an index whose learnt
scorer trained on the other four and ``kb_eval.yml``; ``kb_eval.yml`` by one trained on the dev
situations alone. Each line is scored twice, with the situation lexicon and without it (its
phrases and the household-status strip off: the lexicon was written from the dev lines, so with it
they are nearly all right, and without it they look like an outsider's words). Every pair of the
top three where exactly one is right is an example. Nothing under ``nlu/data/test/`` is read.
Prints the coefficients to copy into ``nlu/kb_rerank.py``.
"""
from __future__ import annotations

import random
import tempfile
from pathlib import Path
from unittest import mock

import yaml

from nlu import kb, kb_model
from nlu.kb_eval import DEFAULT_POLICIES, load_kb_questions, load_policy_docs
from nlu.kb_rerank import TOP, pair_features

C = 2.0  # the logistic regression's inverse L2 penalty, chosen by cross-validation (docs/nlu.md)
FOLDS = 5


def _index(docs, files, tag: str) -> kb.PolicyIndex:
    with mock.patch.object(kb_model, "SITUATION_FILES", tuple(files)):
        return kb.PolicyIndex(docs, tag)


def _examples(index: kb.PolicyIndex, questions, lexicon: bool):
    X, y = [], []
    with mock.patch.object(kb, "_situation", kb._situation if lexicon else (lambda *a, **k: [])), \
            mock.patch.object(kb, "_strip_statuses", kb._strip_statuses if lexicon else (lambda t: (t, []))):
        for question, right in questions:
            scored = index.scored(question)
            if scored.named:  # a named policy is never reordered (nlu/kb.py)
                continue
            top = scored.hits[:TOP]
            for i, a in enumerate(top):
                for b in top[i + 1:]:
                    if (a.policy_id in right) != (b.policy_id in right):
                        X.append(pair_features(scored.evidence(a.policy_id, a.score),
                                               scored.evidence(b.policy_id, b.score), scored.situation))
                        y.append(int(a.policy_id in right))
    return X, y


def fit(policies: Path = DEFAULT_POLICIES):
    from sklearn.linear_model import LogisticRegression

    data = kb_model.DATA
    docs = load_policy_docs(policies)
    dev = load_kb_questions(data / "kb_situations_dev.yml")
    order = list(range(len(dev)))
    random.Random(0).shuffle(order)
    X, y = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(FOLDS):
            held = set(order[k::FOLDS])
            train = Path(tmp) / f"dev_{k}.yml"
            train.write_text(yaml.safe_dump([{"question": q, "policy": p} for i, (q, p) in enumerate(dev)
                                             if i not in held], allow_unicode=True), encoding="utf-8")
            index = _index(docs, [train, data / "kb_eval.yml"], f"fold{k}")
            for lexicon in (True, False):
                fx, fy = _examples(index, [dev[i] for i in sorted(held)], lexicon)
                X += fx
                y += fy
    index = _index(docs, [data / "kb_situations_dev.yml"], "dev-only")
    for lexicon in (True, False):
        fx, fy = _examples(index, load_kb_questions(data / "kb_eval.yml"), lexicon)
        X += fx
        y += fy
    est = LogisticRegression(C=C, max_iter=1000).fit(X, y)
    return [round(float(w), 4) for w in est.coef_[0]], round(float(est.intercept_[0]), 4), len(y)


if __name__ == "__main__":
    coef, intercept, n = fit()
    print(f"{n} pairs\nCOEF = {tuple(coef)}\nINTERCEPT = {intercept}")
