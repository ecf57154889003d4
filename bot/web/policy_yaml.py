"""The eligibility box of the policy form: its YAML read with ruamel's round-trip loader and
checked by storage/policy_checks.py, each problem placed on its line with the flow
validator's Checker (flows/checker.py), so an admin sees `第 7 行 / line 7: …` as in the flow
editor."""
from __future__ import annotations

import re
from io import StringIO
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from flows.checker import Checker
from storage.policy_checks import eligibility_problems

_QUESTION = re.compile(r"^question '([^']+)'|^question (\d+)")
_CONDITION = re.compile(r"the condition '([^']*)'")
_RULE = re.compile(r"^rule (\d+)")


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers as plain dicts and lists (what the database stores)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _path(data: dict, problem: str) -> tuple:
    m = _QUESTION.search(problem)
    if m:
        questions = data.get("questions") or []
        if m.group(2):
            return ("questions", int(m.group(2)) - 1)
        for i, q in enumerate(questions):
            if isinstance(q, dict) and str(q.get("id")) == m.group(1):
                return ("questions", i)
    m = _CONDITION.search(problem)
    if m:
        for i, rule in enumerate(data.get("rules") or []):
            if isinstance(rule, dict) and rule.get("when") == m.group(1):
                return ("rules", i, "when")
    m = _RULE.search(problem)
    if m:
        return ("rules", int(m.group(1)) - 1)
    for key in ("rules", "params", "default", "suggest_instead", "questions"):
        if problem.startswith(f"eligibility {key}") or f"'{key}'" in problem:
            return (key,)
    return ()


def read_eligibility(text: str) -> tuple[dict, list[tuple[int, str]]]:
    """(the eligibility mapping, [(line, problem)]); an empty box is no self-check."""
    if not text.strip():
        return {}, []
    try:
        data = YAML(typ="rt").load(StringIO(text))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return {}, [(mark.line + 1 if mark else 1, f"this is not valid YAML: {exc.problem or exc.context}")]
    except YAMLError as exc:
        return {}, [(1, f"this is not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return {}, [(1, "eligibility must be a mapping with questions and rules")]
    checker = Checker("eligibility", data)
    found = [(checker.position(_path(data, p))[0], p) for p in eligibility_problems(_plain(data))]
    return _plain(data), found


def dump(value: dict) -> str:
    if not value:
        return ""
    out = StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.allow_unicode = True
    yaml.dump(value, out)
    return out.getvalue()
