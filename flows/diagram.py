"""A flow as a Mermaid flowchart: one node per step, an arrow per way on (the next step, a
`goto`, each branch line, `on_fail`, the `next:` of a step, the skip of an `if:`), each node
mapped to its line in the YAML so a click on the diagram can jump there.

    diagram(yaml_text) -> {"mermaid": "flowchart TD …", "nodes": {"s0": {"step": "ask_village", "line": 20}}}
"""
from __future__ import annotations

from typing import Any

from flows.outline import StepInfo, outline

__all__ = ["diagram"]

SHAPES = {"ask": ('[/"', '"/]'), "branch": ('{"', '"}'), "end": ('(["', '"])'), "handoff": ('[["', '"]]'),
          "call": ('[["', '"]]'), "action": ('[("', '")]')}


def _label(text: Any, limit: int = 24) -> str:
    text = " ".join(str(text or "").split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    # Mermaid's own escapes; quotes and angle brackets would end the label or make HTML
    return (text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("{", "#123;").replace("}", "#125;").replace("[", "#91;").replace("]", "#93;"))


def _summary(step: StepInfo) -> str:
    raw = step.raw
    body = raw.get(step.kind)
    if step.kind == "say" and isinstance(body, dict):
        return body.get("zh") or body.get("en") or ""
    if step.kind == "ask" and isinstance(body, dict):
        question = body.get("question")
        q = question.get("zh") or question.get("en") if isinstance(question, dict) else ""
        return f"{body.get('slot', '')}: {q}"
    if step.kind in ("action", "call", "goto"):
        return str(body)
    if step.kind == "handoff":
        return "转人工 handoff"
    if step.kind == "end":
        return "结束 end"
    return ""


def diagram(yaml_text: str) -> dict:
    shape = outline(yaml_text)
    node_of = {s.id: f"s{s.index}" for s in shape.steps}
    lines = ["flowchart TD"]
    nodes = {}
    for s in shape.steps:
        left, right = SHAPES.get(s.kind, ('["', '"]'))
        title = s.id if not s.id.startswith("#") else f"{s.kind or '?'} {s.id}"
        lines.append(f"  {node_of[s.id]}{left}{_label(title, 30)}<br/>{_label(_summary(s))}{right}")
        nodes[node_of[s.id]] = {"step": s.id, "kind": s.kind, "line": s.line}
    lines.append("  done((结束))")
    for i, s in enumerate(shape.steps):
        me = node_of[s.id]
        follow = shape.steps[i + 1].id if i + 1 < len(shape.steps) else None
        raw = s.raw
        nxt = raw.get("next") if isinstance(raw.get("next"), str) else follow
        edges: list[tuple[str | None, str]] = []
        if s.kind == "goto":
            edges.append((str(raw.get("goto")), ""))
        elif s.kind == "end":
            edges.append((None, ""))
        elif s.kind == "branch":
            has_else = False
            for case in raw.get("branch") or []:
                if not isinstance(case, dict):
                    continue
                if "else" in case:
                    has_else = True
                    edges.append((str(case.get("else")), "否则 else"))
                elif case.get("goto"):
                    edges.append((str(case.get("goto")), str(case.get("if", ""))))
            if not has_else:
                edges.append((nxt, ""))
        else:
            edges.append((nxt, ""))
            body = raw.get("ask")
            if s.kind == "ask" and isinstance(body, dict) and body.get("on_fail"):
                edges.append((str(body["on_fail"]), "on_fail"))
        if raw.get("if") is not None and follow and nxt != follow:
            edges.append((follow, "不满足 if"))
        for target, label in edges:
            to = "done" if target is None else node_of.get(target)
            if to is None:
                continue  # a jump to a missing step: the validator says so
            arrow = f" -->|{_label(label, 30)}| " if label else " --> "
            lines.append(f"  {me}{arrow}{to}")
    return {"mermaid": "\n".join(lines), "nodes": nodes}
