"""A small, safe expression language for flow conditions and policy eligibility rules.

Expressions are parsed with Python's `ast` and only a whitelist of nodes is evaluated:
comparisons (== != < <= > >= in, not in), and/or/not, + - * / on numbers, literals
(numbers, 'text', true/false/none, lists), names and dotted names (`entities.policy`,
`result.number`). No calls, no subscripts, no attribute access on Python objects: a dotted
name looks up keys of plain dicts. A missing name is `None`.

    evaluate("age >= 60 and category in ['housing', 'health']", {"age": 70, "category": "housing"})
    check("age >= ")  ->  ["condition 'age >= ' is not complete"]
"""
from __future__ import annotations

import ast
import operator
from functools import lru_cache
from typing import Any

from vocab.errors import VocabError

__all__ = ["ConditionError", "check", "evaluate", "names"]


class ConditionError(VocabError, ValueError):
    """The expression is not allowed or cannot be evaluated."""


_COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_ARITH = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_CONSTANT_NAMES = {"true": True, "false": False, "none": None, "True": True, "False": False, "None": None}
_OP_WORDS = {
    ast.Call: "function calls",
    ast.Subscript: "[...] indexing",
    ast.Lambda: "lambda",
    ast.IfExp: "if/else inside a condition",
    ast.Dict: "{...} dictionaries",
    ast.Pow: "**",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.Is: "'is' (use ==)",
    ast.IsNot: "'is not' (use !=)",
}


@lru_cache(maxsize=2048)
def _parse(expr: str) -> ast.Expression:
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError as exc:
        raise ConditionError(f"condition '{expr}' is not complete or has a typo") from exc
    for node in ast.walk(tree):
        _check_node(node, expr)
    return tree


def _check_node(node: ast.AST, expr: str) -> None:
    allowed = (
        ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd,
        ast.Compare, ast.In, ast.NotIn, ast.BinOp, ast.Constant, ast.Name, ast.Load,
        ast.Attribute, ast.List, ast.Tuple, ast.Set,
    ) + tuple(_COMPARE) + tuple(_ARITH)
    if not isinstance(node, allowed):
        what = _OP_WORDS.get(type(node), type(node).__name__)
        raise ConditionError(f"condition '{expr}' uses {what}, which is not allowed")
    if isinstance(node, ast.Attribute) and not _dotted(node):
        raise ConditionError(f"condition '{expr}' uses '.' after something that is not a name")
    if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
        raise ConditionError(f"condition '{expr}' has a value that is not allowed")


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def check(expr: str) -> list[str]:
    """Problems with `expr` in plain words; empty when it may be evaluated."""
    if not isinstance(expr, str) or not expr.strip():
        return ["the condition is empty"]
    try:
        _parse(expr)
    except ConditionError as exc:
        return [str(exc)]
    return []


def names(expr: str) -> set[str]:
    """The (dotted) names an expression reads, e.g. {'age', 'entities.policy'}."""
    tree = _parse(expr)
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Attribute):
            found.add(_dotted(node) or "")
            return
        if isinstance(node, ast.Name):
            if node.id not in _CONSTANT_NAMES:
                found.add(node.id)
            return
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def evaluate(expr: str, names: dict[str, Any]) -> Any:
    """Evaluate `expr` with `names` (nested dicts for dotted names). Raises ConditionError."""
    return _eval(_parse(expr).body, names, expr)


def _lookup(dotted: str, env: dict[str, Any]) -> Any:
    head, *rest = dotted.split(".")
    if head in _CONSTANT_NAMES and not rest:
        return _CONSTANT_NAMES[head]
    value = env.get(head)
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _number(value: Any, expr: str) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConditionError(f"condition '{expr}' does arithmetic on {value!r}, which is not a number")
    return value


def _eval(node: ast.AST, env: dict[str, Any], expr: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return _lookup(node.id, env)
    if isinstance(node, ast.Attribute):
        return _lookup(_dotted(node) or "", env)
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_eval(e, env, expr) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            value: Any = True
            for v in node.values:
                value = _eval(v, env, expr)
                if not value:
                    return value
            return value
        value = False
        for v in node.values:
            value = _eval(v, env, expr)
            if value:
                return value
        return value
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, env, expr)
        if isinstance(node.op, ast.Not):
            return not operand
        n = _number(operand, expr)
        return -n if isinstance(node.op, ast.USub) else n
    if isinstance(node, ast.BinOp):
        left = _number(_eval(node.left, env, expr), expr)
        right = _number(_eval(node.right, env, expr), expr)
        if isinstance(node.op, ast.Div) and right == 0:
            raise ConditionError(f"condition '{expr}' divides by zero")
        return _ARITH[type(node.op)](left, right)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, env, expr)
        for op, comparator in zip(node.ops, node.comparators):
            right = _eval(comparator, env, expr)
            if not _compare(op, left, right, expr):
                return False
            left = right
        return True
    raise ConditionError(f"condition '{expr}' cannot be evaluated")


def _compare(op: ast.cmpop, left: Any, right: Any, expr: str) -> bool:
    if isinstance(op, (ast.In, ast.NotIn)):
        if right is None:
            found = False
        elif isinstance(right, (list, str, dict)):
            try:
                found = left in right
            except TypeError:
                found = False
        else:
            raise ConditionError(f"condition '{expr}' uses 'in' with {right!r}, which is not a list or text")
        return found if isinstance(op, ast.In) else not found
    fn = _COMPARE[type(op)]
    if isinstance(op, (ast.Eq, ast.NotEq)):
        return fn(left, right)
    if left is None or right is None:
        return False  # an empty slot is neither bigger nor smaller than anything
    try:
        return fn(left, right)
    except TypeError as exc:
        raise ConditionError(f"condition '{expr}' compares {left!r} with {right!r}") from exc
