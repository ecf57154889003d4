"""What a policy record may hold, and what is wrong with one: the fields, the eligibility data
(questions, params, rules in the condition language of vocab/conditions.py) and the hotlines.
Every write in storage/policies.py and storage/policy_overrides.py checks here first.

Eligibility (for the self-check) is data in the policy record::

    eligibility:
      questions: [{id: age, type: number, text: {zh, en}, min: 0, max: 120}, ...]
      params: {local_standard: 0}         # extra names for the rules; overrides may set them
      rules:                              # evaluated in order, the first match wins
      - {when: "age >= 60 and has_income == false", result: likely, reason: {zh, en}}
      default: maybe                      # when no rule matches (default_reason says why)
      suggest_instead: [dibao, linshi_jiuzhu]

Expressions are Python-like (`and`, `or`, `not`, comparisons, `true`/`false`) over the
question ids and params, in the condition language of `vocab.conditions` (the flows' own), and
checked with it when a policy is published. The mission's actions apply them
(flows/mission/eligibility.py).
"""
from __future__ import annotations

import ast
from datetime import date, datetime
from typing import Any

from storage.errors import StorageError
from vocab import conditions

__all__ = [
    "ELIGIBILITY_RESULTS", "LOCALES", "OTHER_FIELDS", "POLICY_FIELDS", "PolicyDataError", "QUESTION_TYPES",
    "TEXT_FIELDS", "as_date", "eligibility_problems", "hotline_problems", "policy_problems", "text_problems",
]

LOCALES = ("zh", "en")
TEXT_FIELDS = (
    "title",
    "summary",
    "who_qualifies",
    "what_you_get",
    "how_to_apply",
    "documents",
    "contact",
    "notes",
    "legal_basis",
)
OTHER_FIELDS = ("sources", "keywords", "effective_date", "eligibility")
POLICY_FIELDS = TEXT_FIELDS + OTHER_FIELDS
ELIGIBILITY_RESULTS = ("likely", "unlikely", "maybe")
QUESTION_TYPES = ("yes_no", "number")
# names an expression may use besides question ids and params
_LITERAL_NAMES = {"true", "false", "True", "False", "none", "None"}


class PolicyDataError(StorageError, ValueError):
    """Policy content that cannot be stored; `problems` lists every reason in plain words."""

    def __init__(self, where: str, problems: list[str]):
        self.where = where
        self.problems = problems
        super().__init__(f"{where}: " + "; ".join(problems))


def _expression_problems(expr: Any, known: set[str]) -> list[str]:
    if not isinstance(expr, str) or not expr.strip():
        return ["the condition is empty"]
    problems: list[str] = []
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as exc:
        return [f"cannot read the condition {expr!r}: {exc.msg}"]
    unknown = sorted(
        {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - known - _LITERAL_NAMES
    )
    if unknown:
        problems.append(
            f"the condition {expr!r} uses {', '.join(unknown)}, which is neither a question nor a param"
        )
    problems.extend(f"the condition {expr!r} is not valid: {p}" for p in conditions.check(expr))
    return problems


def text_problems(name: str, value: Any, *, complete: bool) -> list[str]:
    if not isinstance(value, dict):
        return [f"{name} must have a text per language ({{zh: ..., en: ...}})"]
    problems = [f"{name} has an unknown language {k!r}" for k in value if k not in LOCALES]
    missing = [loc for loc in (LOCALES if complete else ("zh",)) if not str(value.get(loc) or "").strip()]
    problems += [f"{name} has no {loc} text" for loc in missing]
    return problems


def eligibility_problems(eligibility: Any) -> list[str]:
    """Everything wrong with an eligibility record, in words an admin understands."""
    if not eligibility:
        return []
    if not isinstance(eligibility, dict):
        return ["eligibility must be a mapping with questions and rules"]
    problems: list[str] = []
    unknown = set(eligibility) - {"questions", "params", "rules", "default", "default_reason", "suggest_instead"}
    problems += [f"eligibility has an unknown key {k!r}" for k in sorted(unknown)]
    questions = eligibility.get("questions") or []
    ids: list[str] = []
    for i, q in enumerate(questions):
        where = f"question {i + 1}"
        if not isinstance(q, dict) or not q.get("id"):
            problems.append(f"{where} has no id")
            continue
        qid = q["id"]
        where = f"question {qid!r}"
        if not str(qid).isidentifier():
            problems.append(f"{where}: an id must be one word (letters, digits, _)")
        if qid in ids:
            problems.append(f"{where} appears twice")
        ids.append(qid)
        if q.get("type") not in QUESTION_TYPES:
            problems.append(f"{where} has type {q.get('type')!r}; use yes_no or number")
        problems += [f"{where}: {p}" for p in text_problems("text", q.get("text"), complete=True)]
    if not questions:
        problems.append("eligibility has no questions")
    params = eligibility.get("params") or {}
    if not isinstance(params, dict):
        problems.append("eligibility params must be a mapping of name: value")
        params = {}
    known = set(ids) | set(params)
    rules = eligibility.get("rules") or []
    if not rules:
        problems.append("eligibility has no rules")
    for i, rule in enumerate(rules):
        where = f"rule {i + 1}"
        if not isinstance(rule, dict):
            problems.append(f"{where} must be a mapping with when, result and reason")
            continue
        problems += [f"{where}: {p}" for p in _expression_problems(rule.get("when"), known)]
        if rule.get("result") not in ELIGIBILITY_RESULTS:
            problems.append(f"{where} has result {rule.get('result')!r}; use likely, unlikely or maybe")
        problems += [f"{where}: {p}" for p in text_problems("reason", rule.get("reason"), complete=True)]
    if eligibility.get("default", "maybe") not in ELIGIBILITY_RESULTS:
        problems.append(f"default {eligibility.get('default')!r} must be likely, unlikely or maybe")
    if "default_reason" in eligibility:
        problems += text_problems("default_reason", eligibility["default_reason"], complete=True)
    suggest = eligibility.get("suggest_instead") or []
    if not isinstance(suggest, list) or not all(isinstance(s, str) for s in suggest):
        problems.append("suggest_instead must be a list of policy ids")
    return problems


def policy_problems(fields: dict[str, Any], *, complete: bool = False) -> list[str]:
    """What is wrong with a policy's fields. `complete` also demands every text field in every
    language, a source and an effective date (the built-in content must be complete)."""
    problems = [f"unknown field {k!r}" for k in fields if k not in POLICY_FIELDS]
    for name in TEXT_FIELDS:
        if name in fields:
            problems += text_problems(name, fields[name], complete=complete)
        elif complete or name == "title":
            problems.append(f"{name} is missing")
    sources = fields.get("sources", [])
    if not isinstance(sources, list) or not all(isinstance(s, str) and s.startswith("http") for s in sources):
        problems.append("sources must be a list of web addresses (http…)")
    elif complete and not sources:
        problems.append("sources is empty: name where the facts come from")
    keywords = fields.get("keywords", [])
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords):
        problems.append("keywords must be a list of words")
    if fields.get("effective_date") is not None:
        try:
            as_date(fields["effective_date"])
        except ValueError:
            problems.append(f"effective_date {fields['effective_date']!r} is not a date like 2026-01-01")
    elif complete:
        problems.append("effective_date is missing")
    problems += eligibility_problems(fields.get("eligibility"))
    return problems


def as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


def hotline_problems(hotlines: Any) -> list[str]:
    if not isinstance(hotlines, list) or not hotlines:
        return ["hotlines must be a non-empty list"]
    problems: list[str] = []
    for i, h in enumerate(hotlines):
        where = f"hotline {i + 1}"
        if not isinstance(h, dict):
            problems.append(f"{where} must be a mapping")
            continue
        number = str(h.get("number") or "")
        if not number.isdigit():
            problems.append(f"{where} has number {h.get('number')!r}; use digits only")
        where = f"hotline {number or i + 1}"
        problems += [f"{where}: {p}" for p in text_problems("label", h.get("label"), complete=True)]
        problems += [f"{where}: {p}" for p in text_problems("when", h.get("when"), complete=True)]
        situations = h.get("situations")
        if not isinstance(situations, list) or not situations:
            problems.append(f"{where} needs a list of situations it fits")
    return problems
