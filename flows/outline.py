"""What a flow file names, read from its YAML even when the validator refuses it: the step
ids, slot names and where each step is (for the editor's autocomplete and diagram).

    outline(yaml_text) -> Outline(steps=[StepInfo(id, kind, line, ...)], slots=[...])
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from flows.model import STEP_KINDS

__all__ = ["Outline", "StepInfo", "outline"]


@dataclass
class StepInfo:
    index: int
    id: str  # the step's id, or "#n" like the engine names a step without one
    kind: str  # say | ask | … | "" when the step has no kind key
    line: int
    raw: dict = field(default_factory=dict)


@dataclass
class Outline:
    flow_id: str = ""
    steps: list[StepInfo] = field(default_factory=list)
    slots: list[str] = field(default_factory=list)


def outline(yaml_text: str) -> Outline:
    try:
        root: Any = YAML(typ="rt").load(yaml_text)
    except YAMLError:
        return Outline()
    if not isinstance(root, dict):
        return Outline()
    out = Outline(flow_id=str(root.get("id") or ""))
    slots = root.get("slots")
    if isinstance(slots, dict):
        out.slots = [str(k) for k in slots]
    steps = root.get("steps")
    if isinstance(steps, list):
        for i, raw in enumerate(steps):
            try:
                line = steps.lc.item(i)[0] + 1
            except (AttributeError, KeyError, TypeError, IndexError):
                line = 0
            raw = raw if isinstance(raw, dict) else {}
            sid = raw.get("id")
            kind = next((k for k in STEP_KINDS if k in raw), "")
            out.steps.append(StepInfo(i, sid if isinstance(sid, str) and sid else f"#{i + 1}", kind, line, dict(raw)))
    return out
