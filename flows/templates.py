"""`{{name}}` templates in flow messages and action arguments.

`{{slot}}`, `{{result.number}}`, `{{person.locale}}`: a dotted name looked up in nested
dicts. A message that is exactly one template (`"{{age}}"`) renders to the raw value, so an
action argument keeps its type; inside a longer text the value is turned into words.
"""
from __future__ import annotations

import re
from typing import Any, Callable

__all__ = ["TEMPLATE", "names", "render", "render_value"]

TEMPLATE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*)\s*\}\}")


def names(text: str) -> list[str]:
    """The dotted names a template refers to, in order."""
    return TEMPLATE.findall(text) if isinstance(text, str) else []


def lookup(dotted: str, env: dict[str, Any]) -> Any:
    head, *rest = dotted.split(".")
    value = env.get(head)
    for part in rest:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _words(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "、".join(_words(v) for v in value)
    return str(value)


def render(text: str, env: dict[str, Any], show: Callable[[str, Any], str] | None = None) -> str:
    """Fill every `{{name}}` in `text`; `show(name, value)` may turn a value into words."""

    def sub(m: re.Match) -> str:
        value = lookup(m.group(1), env)
        return show(m.group(1), value) if show else _words(value)

    return TEMPLATE.sub(sub, text)


def render_value(value: Any, env: dict[str, Any]) -> Any:
    """Render an action argument: strings, lists and dicts of them, keeping types for `"{{x}}"`."""
    if isinstance(value, str):
        m = TEMPLATE.fullmatch(value.strip())
        if m:
            return lookup(m.group(1), env)
        return render(value, env)
    if isinstance(value, list):
        return [render_value(v, env) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, env) for k, v in value.items()}
    return value
