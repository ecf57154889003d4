"""Loading policy documents from YAML, and evaluating knowledge search.

Policy YAML: a list of policies, or a mapping with a ``policies`` list (the shape of
``storage/demo_data/policies.yaml``). Each policy has ``id`` (or ``policy_id``), ``title``,
``keywords`` and any other text fields; a field may be a string or a ``{zh:, en:}`` mapping.
All text fields are joined into ``PolicyDoc.text`` (both languages, so English questions
find them too); structured fields such as ``eligibility`` are left out.

Evaluation YAML: a list of ``{question: ..., policy: ID}`` or ``policy: [ID, ID]`` when two
answers are right. top-1 / top-3 accuracy = share of questions whose first / first three
hits include a right policy.
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from nlu.kb import PolicyDoc, PolicyIndex

__all__ = ["DEFAULT_POLICIES", "evaluate_kb", "load_kb_questions", "load_policy_docs", "index_from_file"]

DEFAULT_POLICIES = Path("storage/demo_data/policies.yaml")
_SKIP_FIELDS = {"id", "policy_id", "title", "keywords", "eligibility", "effective_date", "sources", "version"}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k in ("zh", "en") if k in value for t in _texts(value[k])] or [
            t for v in value.values() for t in _texts(v)
        ]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


def load_policy_docs(path: Path) -> list[PolicyDoc]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    items = raw.get("policies", []) if isinstance(raw, dict) else raw or []
    docs = []
    for item in items:
        policy_id = str(item.get("id") or item.get("policy_id"))
        title = " ".join(_texts(item.get("title", "")))
        body = "\n".join(t for k, v in item.items() if k not in _SKIP_FIELDS for t in _texts(v))
        keywords = [str(k) for k in item.get("keywords", []) or []]
        who = " ".join(_texts(item.get("who_qualifies", "")))
        docs.append(PolicyDoc(policy_id, title, body, keywords, who))
    return docs


def index_from_file(path: Path) -> PolicyIndex:
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return PolicyIndex.build(load_policy_docs(path), f"file:{digest}")


def load_kb_questions(path: Path) -> list[tuple[str, list[str]]]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
    if isinstance(raw, dict):
        raw = raw.get("questions", [])
    out = []
    for item in raw:
        policies = item["policy"] if isinstance(item["policy"], list) else [item["policy"]]
        out.append((str(item["question"]), [str(p) for p in policies]))
    return out


def evaluate_kb(index: PolicyIndex, questions: Sequence[tuple[str, list[str]]]) -> dict:
    top1 = top3 = 0
    misses = []
    for question, right in questions:
        hits = [h.policy_id for h in index.search(question, k=3)]
        top1 += bool(hits) and hits[0] in right
        top3 += any(h in right for h in hits)
        if not hits or hits[0] not in right:
            misses.append({"question": question, "expected": right, "got": hits})
    n = len(questions)
    return {"top1": round(top1 / n, 4) if n else 0.0, "top3": round(top3 / n, 4) if n else 0.0, "n": n, "misses": misses}
