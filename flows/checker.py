"""Problems in a flow file as an admin reads them: `FlowError` (`file:line:column: message`),
the `Checker` that places a problem on its line (walking ruamel's round-trip tree along the
problem's path) and names the step, and "did you mean …" suggestions."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Iterable

from flows.errors import FlowsError

__all__ = ["Checker", "FlowError", "FlowValidationError", "did_you_mean"]


@dataclass(frozen=True)
class FlowError:
    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FlowValidationError(FlowsError, ValueError):
    """A flow file has problems; `errors` lists every one."""

    def __init__(self, errors: list[FlowError]):
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def did_you_mean(word: str, options: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" — did you mean '{match[0]}'?" if match else ""


class Checker:
    def __init__(self, filename: str, root: Any):
        self.filename = filename
        self.root = root
        self.errors: list[FlowError] = []

    # ── positions ──────────────────────────────────────────────────────────────────────
    def position(self, path: tuple, key: bool = False) -> tuple[int, int]:
        node, line, col = self.root, 0, 0
        if hasattr(node, "lc"):
            line, col = node.lc.line, node.lc.col
        for i, part in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, dict) and part in node:
                try:
                    pos = node.lc.key(part) if (key and last) else node.lc.value(part)
                    line, col = pos
                except (AttributeError, KeyError, TypeError):
                    pass
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                try:
                    line, col = node.lc.item(part)
                except (AttributeError, KeyError, TypeError):
                    pass
                node = node[part]
            else:
                continue  # a pydantic union tag or a missing key: stay at the parent
        return line + 1, col + 1

    def add(self, path: tuple, message: str, key: bool = False) -> None:
        line, col = self.position(path, key)
        err = FlowError(self.filename, line, col, message)
        if err not in self.errors:
            self.errors.append(err)

    # ── names for messages ─────────────────────────────────────────────────────────────
    def where(self, path: tuple) -> str:
        if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
            return self.step_label(path[1]) + ": "
        if len(path) >= 2 and path[0] == "slots":
            return f"slot '{path[1]}': "
        return ""

    def step_label(self, index: int) -> str:
        steps = self.root.get("steps") if isinstance(self.root, dict) else None
        if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], dict):
            sid = steps[index].get("id")
            if isinstance(sid, str) and sid:
                return f"step '{sid}'"
        return f"step {index + 1}"
