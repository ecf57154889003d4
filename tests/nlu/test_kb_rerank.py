"""The policy search's top three compared two at a time (nlu/kb_rerank.py), through the real
search (``PolicyIndex.search``) and ``xiangzhu nlu eval-kb``."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nlu import kb, kb_rerank
from nlu.cli import nlu_group
from nlu.kb import PolicyIndex
from nlu.kb_eval import DEFAULT_POLICIES, load_kb_questions, load_policy_docs
from nlu.kb_rerank import Evidence, rerank

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "nlu" / "data"
TEST = DATA / "test"
# the held-out situation files the comparison was never fitted or tuned on
HELD_OUT = [TEST / "kb_situations.yml", TEST / "kb_situations_kb6.yml", TEST / "kb_situations_kb7.yml",
            TEST / "kb_situations_kb7_after.yml"]


@pytest.fixture(scope="module")
def index() -> PolicyIndex:
    return PolicyIndex(load_policy_docs(DEFAULT_POLICIES), "kb-rerank-test")


def _top1(index: PolicyIndex, questions) -> int:
    return sum(bool(hits) and hits[0].policy_id in right
               for hits, right in ((index.search(q), right) for q, right in questions))


def test_without_the_lexicon_the_comparison_ranks_more_held_out_situations_first(index, monkeypatch):
    """The lexicon was written from the dev lines; without it the words are an outsider's. There
    the score alone follows one shared word more often than the comparison does."""
    monkeypatch.setattr(kb, "_situation", lambda *a, **k: [])
    monkeypatch.setattr(kb, "_strip_statuses", lambda text: (text, []))
    questions = [q for path in HELD_OUT for q in load_kb_questions(path)]
    compared = _top1(index, questions)
    monkeypatch.setattr(kb, "_reranked", lambda scored: scored.hits)
    by_score = _top1(index, questions)
    # kb9 round (2026-12-07): the refit on 222 dev lines gains less over the score order (+5 alone, +3
    # after the rest of tests/nlu has put names into jieba; +7 before) from a better score order
    # (154 → 160 of 191), and ranks more first than before (161 → 163–165)
    # kb11 round: the 18 new dev lines better the score order again (160 → 163 alone) and the refit ranks
    # 168 first alone (main 167 / 160); after the rest of tests/nlu, 165 / 163
    assert compared >= by_score + 2 and compared >= 164, (compared, by_score)


def test_only_the_order_of_the_top_three_changes_and_the_scores_keep_their_places(index):
    changed = 0
    for question, _ in load_kb_questions(TEST / "kb_situations_kb7.yml") + load_kb_questions(DATA / "kb_eval.yml"):
        scored = index.scored(question).hits
        hits = index.search(question, k=5)
        assert {h.policy_id for h in hits[:3]} == {h.policy_id for h in scored[:3]}
        assert [h.score for h in hits] == [h.score for h in scored[:5]]
        assert [h.policy_id for h in hits[3:]] == [h.policy_id for h in scored[3:5]]
        changed += hits[0].policy_id != scored[0].policy_id
    assert changed >= 1  # the comparison does something on these lines


def test_a_given_policy_entity_is_never_reordered(index):
    question = "家里房子漏雨 想问问补贴"
    for entity in ("dibao", "weifang_gaizao", "yanglao_baoxian"):
        hits = index.search(question, policy_entity=entity)
        assert [h.policy_id for h in hits] == [h.policy_id for h in index.scored(question, entity).hits[:3]]


def test_close_evidence_the_learnt_scorer_backs_lifts_the_second():
    a = Evidence(score=1.30, passage=1.0, document=0.4, model=0.10)  # one shared word in a passage
    b = Evidence(score=1.25, passage=0.5, document=1.0, model=0.45)
    assert rerank(["a", "b", "c"], {"a": a, "b": b, "c": Evidence(0.5, 0.2, 0.2, 0.0)}, situation=False)[0] == "b"


def test_a_clear_lead_stays_first_and_ties_keep_the_scores_order():
    a = Evidence(score=1.9, passage=1.0, document=1.0, model=0.6)
    b = Evidence(score=1.2, passage=0.6, document=0.7, model=0.3)
    assert rerank(["a", "b"], {"a": a, "b": b}, situation=True) == ["a", "b"]
    same = Evidence(score=1.0, passage=0.5, document=0.5, model=0.2)
    assert rerank(["x", "y", "z", "w"], {"x": same, "y": same, "z": same}, situation=False) == ["x", "y", "z", "w"]


def test_the_probe_sets_keep_their_figures_through_the_cli():
    # kb9 round (2026-12-07): kb7 top-1 0.857 → 0.896 but top-3 0.948 → 0.935 (a leaning earth wall and an
    # adult "like a child" fell from third place), kb8 0.869 → 0.885; kb9 is that round's dev set.
    # kb10 round: kb7 0.896 / 0.935 → 0.935 / 0.974, kb9 top-3 0.978 → 1.0; kb10 is that round's dev set
    # (0.871 → 0.986). Each floor leaves a line of slack: the order of the tests moves jieba's words.
    # kb11 round: kb7 top-3 0.974 → 1.0, kb6 top-3 0.958 → 1.0; kb11 is that round's dev set (0.868 / 0.974 → 1.0 / 1.0).
    for path, top1, top3 in ((TEST / "kb_situations_kb7.yml", 0.92, 0.98), (TEST / "kb_situations_kb8.yml", 0.88, 0.96),
                             (TEST / "kb_situations_kb9.yml", 0.93, 0.97), (TEST / "kb_situations_kb10.yml", 0.97, 0.98),
                             (TEST / "kb_situations_kb11.yml", 0.98, 0.98)):
        result = CliRunner().invoke(nlu_group, ["eval-kb", str(path), "--json"])
        assert result.exit_code == 0, result.output
        report = json.loads(result.output)
        assert report["top1"] >= top1 and report["top3"] >= top3, (path.name, report["top1"], report["top3"])


def _fit_printed(seed: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nlu.kb_rerank_fit"], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONHASHSEED": seed})


def test_the_shipped_coefficients_are_what_a_fresh_fit_prints_whatever_the_hash_seed():
    """``python -m nlu.kb_rerank_fit`` in fresh processes (tokenizer and caches as a new process has
    them), under two string-hash seeds, prints exactly the coefficients nlu/kb_rerank.py ships: the
    search orders nothing by set iteration (kb10 round: ties among the status phrases and the policy
    names made the fit move by up to 0.003 with the seed)."""
    runs = [_fit_printed(seed) for seed in ("0", "4242")]  # side by side: the fit takes a minute
    for run in runs:
        out, _ = run.communicate(timeout=900)
        assert run.returncode == 0
        coef = ast.literal_eval(re.search(r"^COEF = (.*)$", out, re.M).group(1))
        intercept = float(re.search(r"^INTERCEPT = (.*)$", out, re.M).group(1))
        assert tuple(coef) == kb_rerank.COEF
        assert intercept == kb_rerank.INTERCEPT


def test_the_fit_reads_the_dev_files_and_no_held_out_file(monkeypatch):
    import nlu.kb_rerank_fit as fit_module
    from nlu import kb_model

    read: list[str] = []
    questions, trained_on = fit_module.load_kb_questions, kb_model._questions
    monkeypatch.setattr(fit_module, "load_kb_questions", lambda path: read.append(str(path)) or questions(path))
    monkeypatch.setattr(kb_model, "_questions", lambda path: read.append(str(path)) or trained_on(path))
    monkeypatch.setattr(kb_model, "_models", {})  # train the folds' scorers here, not from the cache
    _, _, pairs = fit_module.fit()
    assert pairs > 500
    assert str(DATA / "kb_situations_dev.yml") in read and str(DATA / "kb_eval.yml") in read
    assert not any(str(TEST) in p for p in read)
