"""Reranking the policy search's top three by comparing them two at a time (2026-12-07).

The search's score adds up passage BM25, document BM25 and the learnt scorer's probability with
fixed weights, so one shared word can carry a policy past the one the household's circumstances
fit. For each pair of the top three, a small logistic comparison asks "is the upper one the
better answer?" from how far apart the two are on each part of the evidence; each candidate's
wins (the comparison's probabilities) order the three again. Its seven coefficients were fitted
on the search's own outputs for the dev situations (``nlu/data/kb_situations_dev.yml``,
``nlu/data/kb_eval.yml``) cross-validated — the learnt scorer never saw the line it scored — with
and without the situation lexicon (``python -m nlu.kb_rerank_fit``; docs/nlu.md, eleventh
round). What they say: among the top three the learnt scorer counts more and the single best
passage less than in the score, and the order stays unless the evidence clearly disagrees — less
readily when the lexicon found a circumstance, more readily when the passage and the document
rankings disagree about the two. A question that names a policy (or the NLU's entity) is not
compared: the name decides, as before.
Only the order within the top three changes, so the top-3 is the search's.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["COEF", "INTERCEPT", "TOP", "Evidence", "pair_features", "rerank"]

TOP = 3  # candidates compared
# score gap, passage gap, document gap, model gap, passage and document disagree, lexicon found
COEF = (3.5262, -1.1208, 0.0301, 0.143, -0.4794, 1.2067)
INTERCEPT = -0.0001


@dataclass(frozen=True, slots=True)
class Evidence:
    """One policy's parts of its search score (``PolicyIndex.search``)."""

    score: float  # the total
    passage: float  # its best passage's BM25, divided by the best policy's
    document: float  # its document's BM25, divided by the best document's
    model: float  # the learnt scorer's probability (nlu/kb_model.py)


def pair_features(a: Evidence, b: Evidence, situation: bool) -> list[float]:
    """The comparison's inputs for ``a`` ranked above ``b``."""
    dp, dd = a.passage - b.passage, a.document - b.document
    return [a.score - b.score, dp, dd, a.model - b.model, float(dp * dd < 0), float(situation)]


def _upper_wins(a: Evidence, b: Evidence, situation: bool) -> float:
    z = INTERCEPT + sum(w * x for w, x in zip(COEF, pair_features(a, b, situation)))
    return 1.0 / (1.0 + math.exp(-z))


def rerank(order: Sequence[str], evidence: dict[str, Evidence], situation: bool) -> list[str]:
    """``order`` (policy ids, best score first) with its first ``TOP`` ordered by their pairwise
    wins; ties keep the score's order."""
    top = list(order[:TOP])
    wins = dict.fromkeys(top, 0.0)
    for i, a in enumerate(top):
        for b in top[i + 1:]:
            # the same evidence is a tie: the intercept (negative since the kb10 refit) must not swap them
            p = 0.5 if evidence[a] == evidence[b] else _upper_wins(evidence[a], evidence[b], situation)
            wins[a] += p
            wins[b] += 1.0 - p
    return sorted(top, key=lambda pid: (-wins[pid], top.index(pid))) + list(order[TOP:])
