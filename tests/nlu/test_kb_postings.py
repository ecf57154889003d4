"""nlu/kb.py scores with precomputed postings; they must equal rank-bm25's own `get_scores`."""
import random

import numpy as np
from rank_bm25 import BM25Okapi

from nlu.kb import _TermScores


def test_postings_give_rank_bm25s_scores_exactly():
    rnd = random.Random(7)
    vocab = [f"w{i}" for i in range(60)] + ["低保", "学费", "补助", "老人"]
    corpus = [[rnd.choice(vocab) for _ in range(rnd.randint(1, 30))] for _ in range(120)]
    bm25 = BM25Okapi(corpus)
    fast = _TermScores(bm25)
    for _ in range(300):
        query = [rnd.choice(vocab + ["unseen", "没见过"]) for _ in range(rnd.randint(0, 12))]
        assert np.array_equal(fast.scores(query), bm25.get_scores(query)), query


def test_situation_words_add_their_own_share():
    """The situation expansion adds each circumstance's precomputed scores: rank-bm25's score of
    the question plus the circumstance's words is the sum of the two (BM25 sums over terms)."""
    rnd = random.Random(11)
    vocab = [f"w{i}" for i in range(40)] + ["残疾", "劳动", "能力"]
    corpus = [[rnd.choice(vocab) for _ in range(rnd.randint(1, 20))] for _ in range(80)]
    bm25 = BM25Okapi(corpus)
    fast = _TermScores(bm25)
    circumstance = ["残疾", "劳动", "能力", "残疾"]
    for _ in range(100):
        query = [rnd.choice(vocab) for _ in range(rnd.randint(0, 8))]
        assert np.allclose(fast.scores(query) + fast.scores(circumstance), bm25.get_scores(query + circumstance))
