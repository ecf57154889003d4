from pathlib import Path

import pytest

from nlu.kb import PolicyIndex, clear_cache
from nlu.kb_eval import evaluate_kb, load_policy_docs

FIXTURE = Path(__file__).parent / "data" / "policies_fixture.yaml"


@pytest.fixture
def index():
    clear_cache()
    return PolicyIndex.build(load_policy_docs(FIXTURE), "test-v1")


@pytest.mark.parametrize(
    "question, policy",
    [
        ("房子裂了随时要塌 政府给修不", "weifang_gaizao"),
        ("娃读中职 家里是脱贫户 每年补多少", "yulu_jihua"),
        ("想贷款养牛 不要抵押的那种", "xiaoe_xindai"),
        ("家里收入太低 每月能领点钱吗", "dibao"),
        ("can i get a collateral-free loan", "xiaoe_xindai"),
    ],
)
def test_questions_that_do_not_name_the_policy(index, question, policy):
    hits = index.search(question, k=3)
    assert hits[0].policy_id == policy
    assert hits[0].passage
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_policy_entity_lifts_its_policy(index):
    question = "这个补助怎么申请"
    assert index.search(question, policy_entity="yulu_jihua")[0].policy_id == "yulu_jihua"
    assert index.search(question, policy_entity="dibao")[0].policy_id == "dibao"


def test_named_policy_is_found_without_an_entity(index):
    assert index.search("扶贫贷款利息多少")[0].policy_id == "xiaoe_xindai"


def test_index_is_cached_by_version_id(index):
    docs = load_policy_docs(FIXTURE)
    assert PolicyIndex.build(docs, "test-v1") is index
    newer = PolicyIndex.build(docs[:1], "test-v2")
    assert newer is not index
    assert {h.policy_id for h in newer.search("危房改造")} <= {"dibao"}


def test_evaluate_kb_counts_top1_and_top3(index):
    report = evaluate_kb(index, [("危房改造补多少", ["weifang_gaizao"]), ("危房改造补多少", ["dibao"])])
    assert report["n"] == 2
    assert report["top1"] == 0.5
    assert len(report["misses"]) == 1
