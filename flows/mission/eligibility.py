"""The eligibility self-check's verdict from a policy record's rules (storage/policy_checks.py
describes the data): the names a rule reads, and the rule that decides."""
from __future__ import annotations

import re
from typing import Any

from vocab import conditions

__all__ = ["assess_eligibility", "eligibility_names"]


def eligibility_names(eligibility: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The names a rule is evaluated with: the params, then the villager's answers."""
    names = dict(eligibility.get("params") or {})
    names.update(answers)
    return names


def assess_eligibility(eligibility: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """Apply the rules in order to the villager's answers (with the params); the first match
    wins, else the default. Returns `{result, reason: {zh, en}, rule (index or None),
    suggest_instead}` — `suggest_instead` is empty when the result is likely. `{{name}}` in a
    reason is filled from the params and answers."""
    names = eligibility_names(eligibility, answers)
    for index, rule in enumerate(eligibility.get("rules") or []):
        if conditions.evaluate(rule["when"], names):
            result, reason, matched = rule["result"], rule.get("reason") or {}, index
            break
    else:
        result, reason, matched = eligibility.get("default", "maybe"), eligibility.get("default_reason") or {}, None
    filled = {loc: _fill(text, names) for loc, text in reason.items()}
    suggest = [] if result == "likely" else list(eligibility.get("suggest_instead") or [])
    return {"result": result, "reason": filled, "rule": matched, "suggest_instead": suggest}


def _fill(text: str, names: dict[str, Any]) -> str:
    def value(m: re.Match) -> str:
        v = names.get(m.group(1))
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        return "" if v is None else str(v)

    return re.sub(r"\{\{\s*(\w+)\s*\}\}", value, text)
