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
