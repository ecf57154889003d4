"""What a parsed flow means, checked: the header, slots, every step (texts in both languages,
templates and conditions over known names, jumps to steps that exist, actions that are
registered with fitting arguments) and that every step can be reached."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flows import templates
from flows.checker import Checker, did_you_mean
from flows.model import (
    LOCALES,
    ActionStep,
    AskStep,
    BranchStep,
    ChoiceDef,
    EndStep,
    Flow,
    GotoStep,
    HandoffStep,
    SayStep,
    Step,
)
from flows.registry import ActionRegistry
from vocab import conditions

__all__ = ["Semantics"]

RESERVED_NAMES = {"intent", "entities", "result", "person", "locale", "value", "true", "false", "none"}
TEMPLATE_ROOTS = {"result", "person", "locale"}
CONDITION_ROOTS = {"intent", "entities", "result", "person", "locale"}
FLOW_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
LANGUAGE = {"zh": "Chinese (zh)", "en": "English (en)"}


class Semantics:
    def __init__(self, checker: Checker, flow: Flow, registry: ActionRegistry):
        self.c = checker
        self.flow = flow
        self.registry = registry
        self.slots = set(flow.slots)
        raw_ids = [s.id for s in flow.steps]
        self.ids = set(raw_ids)

    def run(self) -> None:
        self.check_header()
        self.check_slots()
        seen: set[str] = set()
        for i, step in enumerate(self.flow.steps):
            if step.id in seen:
                self.c.add(("steps", i, "id"), f"two steps are called '{step.id}'; step ids must differ")
            seen.add(step.id)
            self.check_step(i, step)
        self.check_reachable()

    # ── header ─────────────────────────────────────────────────────────────────────────
    def check_header(self) -> None:
        flow = self.flow
        if not FLOW_ID.match(flow.id):
            self.c.add(("id",), f"the flow id '{flow.id}' may only use lower-case letters, digits and _")
        stem = Path(self.c.filename).stem
        if self.c.filename.endswith((".yaml", ".yml")) and stem != flow.id:
            self.c.add(("id",), f"the flow id '{flow.id}' should be the file name ('{flow.id}.yaml', not '{stem}.yaml')")
        self.check_text(("title",), flow.title, "the title")
        for j, pattern in enumerate(flow.triggers.payloads):
            for name in re.findall(r"\{(\w+)\}", pattern):
                if name not in self.slots:
                    self.c.add(
                        ("triggers", "payloads", j),
                        f"the trigger '{pattern}' fills '{name}', but there is no slot '{name}'"
                        + did_you_mean(name, self.slots),
                    )
        for j, pattern in enumerate(flow.triggers.patterns):
            try:
                names = re.compile(pattern).groupindex
            except re.error as exc:
                self.c.add(("triggers", "patterns", j), f"the trigger pattern '{pattern}' is not a regular expression: {exc}")
                continue
            for name in names:
                if name not in self.slots:
                    self.c.add(("triggers", "patterns", j),
                               f"the trigger pattern '{pattern}' fills '{name}', but there is no slot '{name}'"
                               + did_you_mean(name, self.slots))
        for j, kw in enumerate(flow.triggers.keywords):
            if not kw.strip():
                self.c.add(("triggers", "keywords", j), "a trigger keyword is empty")

    def check_slots(self) -> None:
        for name, slot in self.flow.slots.items():
            path = ("slots", name)
            if name in RESERVED_NAMES or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
                self.c.add(path, f"'{name}' cannot be a slot name (it is reserved or not a plain word)", key=True)
            if slot.title is not None:
                self.check_text(path + ("title",), slot.title, f"the title of slot '{name}'")
            for key in ("min", "max"):
                if getattr(slot, key) is not None and slot.type != "number":
                    self.c.add(path + (key,), f"slot '{name}': '{key}' only applies to number slots", key=True)
            for key in ("min_length", "max_length"):
                if getattr(slot, key) is not None and slot.type != "text":
                    self.c.add(path + (key,), f"slot '{name}': '{key}' only applies to text slots", key=True)
            if slot.choices is not None:
                self.check_choices(path + ("choices",), slot.choices, f"slot '{name}'")
            if slot.type == "choice" and not slot.choices and not self._asks_with_choices(name):
                self.c.add(path, f"slot '{name}' is a choice, but has no choices", key=True)

    def _asks_with_choices(self, slot: str) -> bool:
        asks = [s for s in self.flow.steps if isinstance(s, AskStep) and s.ask.slot == slot]
        return bool(asks) and all(s.ask.choices or s.ask.choices_from for s in asks)

    def check_choices(self, path: tuple, choices: list[ChoiceDef], owner: str) -> None:
        values = set()
        for j, choice in enumerate(choices):
            if str(choice.value) in values:
                self.c.add(path + (j, "value"), f"{owner}: the choice '{choice.value}' is listed twice")
            values.add(str(choice.value))
            self.check_text(path + (j, "title"), choice.title, f"{owner}: the choice '{choice.value}'")

    # ── text, templates, conditions ────────────────────────────────────────────────────
    def check_text(self, path: tuple, text: dict, what: str, extra: set[str] = frozenset()) -> None:
        for lang in text:
            if lang not in LOCALES:
                self.c.add(path + (lang,), f"{what} has an unknown language '{lang}' (use zh and en)", key=True)
        for lang in LOCALES:
            if not str(text.get(lang) or "").strip():
                self.c.add(path, f"{what} has no {LANGUAGE[lang]} text")
        for lang, value in text.items():
            self.check_template(path + (lang,), value, what, extra)

    def check_template(self, path: tuple, value: Any, what: str, extra: set[str] = frozenset()) -> None:
        for name in templates.names(value) if isinstance(value, str) else []:
            head = name.split(".")[0]
            if head in self.slots or head in TEMPLATE_ROOTS or head in extra:
                continue
            self.c.add(
                path,
                f"{what} uses {{{{{name}}}}}, but there is no slot '{head}'" + did_you_mean(head, self.slots),
            )

    def check_condition(self, path: tuple, expr: str, what: str, allow_value: bool = False) -> None:
        problems = conditions.check(expr)
        for p in problems:
            self.c.add(path, f"{what}: {p}")
        if problems:
            return
        for name in sorted(conditions.names(expr)):
            head = name.split(".")[0]
            if head in self.slots or head in CONDITION_ROOTS or (allow_value and head == "value"):
                continue
            self.c.add(
                path,
                f"{what}: the condition '{expr}' names '{head}', which is not a slot" + did_you_mean(head, self.slots),
            )

    def check_jump(self, path: tuple, target: str | None, label: str, how: str = "jumps to") -> None:
        if target is None or target in self.ids:
            return
        self.c.add(
            path, f"{label} {how} '{target}', which does not exist" + did_you_mean(target, self.ids - {None})
        )

    # ── steps ──────────────────────────────────────────────────────────────────────────
    def check_step(self, i: int, step: Step) -> None:
        p = ("steps", i)
        label = self.c.step_label(i)
        if step.if_ is not None:
            self.check_condition(p + ("if",), step.if_, label)
        self.check_jump(p + ("next",), step.next, label)
        if isinstance(step, SayStep):
            self.check_text(p + ("say",), step.say, f"the message of {label}")
            for j, button in enumerate(step.buttons):
                self.check_text(p + ("buttons", j, "title"), button.title, f"{label}: button {j + 1}")
        elif isinstance(step, AskStep):
            self.check_ask(p, label, step)
        elif isinstance(step, BranchStep):
            for j, case in enumerate(step.branch):
                cp = p + ("branch", j)
                if case.else_ is not None:
                    if case.if_ is not None or case.goto is not None:
                        self.c.add(cp, f"{label}: an 'else' line has only a step to go to (else: step_id)")
                    elif j != len(step.branch) - 1:
                        self.c.add(cp, f"{label}: 'else' must be the last line of the branch")
                    self.check_jump(cp + ("else",), case.else_, label)
                    continue
                if case.if_ is None or case.goto is None:
                    self.c.add(cp, f"{label}: each branch line needs 'if' and 'goto' (or only 'else')")
                    continue
                self.check_condition(cp + ("if",), case.if_, label)
                self.check_jump(cp + ("goto",), case.goto, label)
        elif isinstance(step, ActionStep):
            self.check_action(p, label, step)
        elif isinstance(step, HandoffStep):
            if step.handoff.summary is not None:
                self.check_text(p + ("handoff", "summary"), step.handoff.summary, f"the summary of {label}")
        elif isinstance(step, GotoStep):
            self.check_jump(p + ("goto",), step.goto, label)
        elif hasattr(step, "call"):
            if not FLOW_ID.match(step.call):
                self.c.add(p + ("call",), f"{label} calls '{step.call}', which is not a flow id")
            elif step.call == self.flow.id:
                self.c.add(p + ("call",), f"{label} calls its own flow '{step.call}'")

    def check_ask(self, p: tuple, label: str, step: AskStep) -> None:
        ask = step.ask
        ap = p + ("ask",)
        if ask.slot not in self.slots:
            self.c.add(
                ap + ("slot",),
                f"{label} asks for slot '{ask.slot}', which is not declared under 'slots'"
                + did_you_mean(ask.slot, self.slots),
            )
            slot_type = None
        else:
            slot_type = self.flow.slots[ask.slot].type
        self.check_text(ap + ("question",), ask.question, f"the question of {label}")
        if ask.retry is not None:
            self.check_text(ap + ("retry",), ask.retry, f"the retry message of {label}")
        if ask.skip is not None:
            self.check_text(ap + ("skip",), ask.skip, f"the skip button of {label}")
        if ask.choices is not None:
            self.check_choices(ap + ("choices",), ask.choices, label)
        if (ask.choices or ask.choices_from) and slot_type in ("text", "number", "date", "phone", "yes_no"):
            self.c.add(ap + ("choices",), f"{label}: a {slot_type} slot cannot have choices", key=True)
        if ask.choices_from is not None and ask.choices_from.split(".")[0] not in self.slots | {"result"}:
            self.c.add(ap + ("choices_from",), f"{label}: choices_from should name result.something or a slot")
        if ask.validate_ is not None:
            self.check_condition(ap + ("validate",), ask.validate_, label, allow_value=True)
        self.check_jump(ap + ("on_fail",), ask.on_fail, label, "goes (when the answers run out) to")

    def check_action(self, p: tuple, label: str, step: ActionStep) -> None:
        if step.action not in self.registry:
            self.c.add(
                p + ("action",),
                f"{label} runs the action '{step.action}', which does not exist"
                + did_you_mean(step.action, self.registry.names()),
            )
        else:
            for problem in self.registry.check_args(step.action, dict(step.args)):
                self.c.add(p + ("args",), f"{label}: {problem}")
        for name, value in step.args.items():
            self._check_arg_templates(p + ("args", name), value, f"{label}: argument '{name}'")
        for slot in step.save:
            if slot not in self.slots:
                self.c.add(
                    p + ("save", slot),
                    f"{label} saves into slot '{slot}', which is not declared" + did_you_mean(slot, self.slots),
                    key=True,
                )

    def _check_arg_templates(self, path: tuple, value: Any, what: str) -> None:
        if isinstance(value, str):
            self.check_template(path, value, what)
        elif isinstance(value, list):
            for j, v in enumerate(value):
                self._check_arg_templates(path + (j,), v, what)
        elif isinstance(value, dict):
            for k, v in value.items():
                self._check_arg_templates(path + (k,), v, what)

    # ── reachability ───────────────────────────────────────────────────────────────────
    def successors(self, step: Step) -> list[str]:
        follow = self.flow.after(step.id)
        default = [step.next] if step.next else ([follow] if follow else [])
        skipped = [follow] if (step.if_ is not None and follow) else []
        if isinstance(step, GotoStep):
            out = [step.goto]
        elif isinstance(step, EndStep):
            out = []
        elif isinstance(step, BranchStep):
            out = [c.goto for c in step.branch if c.goto] + [c.else_ for c in step.branch if c.else_]
            if not any(c.else_ for c in step.branch):
                out += default
        elif isinstance(step, AskStep):
            out = default + ([step.ask.on_fail] if step.ask.on_fail else [])
        else:
            out = default
        return [s for s in out + skipped if s in self.ids]

    def check_reachable(self) -> None:
        if not self.flow.steps:
            return
        graph = {s.id: self.successors(s) for s in self.flow.steps}
        reached, todo = set(), [self.flow.steps[0].id]
        while todo:
            sid = todo.pop()
            if sid in reached:
                continue
            reached.add(sid)
            todo.extend(graph[sid])
        lost = [s for s in self.flow.steps if s.id not in reached]
        lost_ids = {s.id for s in lost}
        for step in lost:
            if any(step.id in graph[o] for o in lost_ids):
                continue  # reported through the first unreachable step before it
            i = self.flow.index[step.id]
            self.c.add(
                ("steps", i),
                f"{self.c.step_label(i)} can never be reached: no step leads to it",
            )
