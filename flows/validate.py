"""Loading and checking flow files: YAML → format migration → schema → meaning.

Every problem becomes a `FlowError` whose text is `file:line:column: message`, written for
an admin ("step 'confirm' jumps to 'enrol', which does not exist — did you mean 'enroll'?").
Line and column come from ruamel's round-trip tree, walked along the problem's path.

    validate_text(yaml_text, "need_request.yaml") -> list[FlowError]
    load_flow(yaml_text, "need_request.yaml") -> Flow       # raises FlowValidationError
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from flows.errors import FlowsError
from flows import templates
from vocab import conditions
from flows.migrations import MigrationError, migrate
from flows.model import (
    ENTITY_TYPES,
    LOCALES,
    STEP_KINDS,
    STEP_MODELS,
    ActionStep,
    AskStep,
    BranchStep,
    ChoiceDef,
    EndStep,
    Flow,
    FlowHeader,
    GotoStep,
    HandoffStep,
    SayStep,
    Step,
)
from flows.registry import ActionRegistry, load_actions

__all__ = ["FlowError", "FlowValidationError", "load_flow", "parse_flow", "validate_text", "validate_files"]

RESERVED_NAMES = {"intent", "entities", "result", "person", "locale", "value", "true", "false", "none"}
TEMPLATE_ROOTS = {"result", "person", "locale"}
CONDITION_ROOTS = {"intent", "entities", "result", "person", "locale"}
FLOW_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
LANGUAGE = {"zh": "Chinese (zh)", "en": "English (en)"}


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


def _all_keys() -> set[str]:
    keys: set[str] = set(STEP_KINDS) | {"id", "if", "next"}
    models = list(STEP_MODELS.values()) + [FlowHeader, ChoiceDef]
    seen = set()
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            keys.add(field.alias or name)
            ann = field.annotation
            for sub in getattr(ann, "__args__", ()) + (ann,):
                if isinstance(sub, type) and hasattr(sub, "model_fields"):
                    models.append(sub)
                for subsub in getattr(sub, "__args__", ()):
                    if isinstance(subsub, type) and hasattr(subsub, "model_fields"):
                        models.append(subsub)
    return keys


_KNOWN_KEYS = _all_keys()


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    match = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" — did you mean '{match[0]}'?" if match else ""


class _Checker:
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


def _pydantic_errors(checker: _Checker, exc: ValidationError, prefix: tuple) -> None:
    for err in exc.errors():
        loc = prefix + tuple(err["loc"])
        where = checker.where(loc)
        inner = loc[2:] if loc[:1] in (("steps",), ("slots",)) else loc
        fields = [p for p in inner if isinstance(p, str) and not ("[" in p or p in ("str", "int", "bool"))]
        field = ".".join(fields) or "this"
        etype = err["type"]
        given = err.get("input")
        if etype == "extra_forbidden":
            key = loc[-1]
            checker.add(loc, f"{where}unknown key '{key}'{_did_you_mean(key, _KNOWN_KEYS)}", key=True)
        elif etype == "missing":
            parent = ".".join(fields[:-1])
            inside = f" in '{parent}'" if parent else ""
            checker.add(loc, f"{where}'{fields[-1] if fields else field}' is missing{inside}")
        elif etype == "string_type" and given is None and str(loc[-1]) not in LOCALES:
            parent = ".".join(fields[:-1])
            checker.add(loc, f"{where}the text of '{parent}' was cut at a comma or colon; put it in quotes")
        elif etype in ("string_type",):
            checker.add(loc, f"{where}'{field}' should be text, not {given!r}")
        elif etype in ("int_type", "int_parsing", "int_from_float"):
            checker.add(loc, f"{where}'{field}' should be a whole number, not {given!r}")
        elif etype in ("float_type", "float_parsing"):
            checker.add(loc, f"{where}'{field}' should be a number, not {given!r}")
        elif etype in ("bool_type", "bool_parsing"):
            checker.add(loc, f"{where}'{field}' should be true or false, not {given!r}")
        elif etype in ("dict_type", "model_type", "model_attributes_type"):
            checker.add(loc, f"{where}'{field}' should be a list of key: value lines, not {given!r}")
        elif etype == "list_type":
            checker.add(loc, f"{where}'{field}' should be a list (lines starting with '-'), not {given!r}")
        elif etype == "literal_error":
            expected = err.get("ctx", {}).get("expected", "")
            checker.add(loc, f"{where}'{field}' cannot be {given!r}; use {expected}")
        elif etype in ("greater_than_equal", "less_than_equal"):
            checker.add(loc, f"{where}'{field}' {err['msg'].lower()}")
        else:
            checker.add(loc, f"{where}'{field}': {err['msg']}")


def _read_yaml(yaml_text: str, filename: str) -> tuple[Any, list[FlowError]]:
    yaml = YAML(typ="rt")
    try:
        data = yaml.load(yaml_text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "a syntax error"
        return None, [FlowError(filename, line, col, f"this is not valid YAML: {problem}")]
    except YAMLError as exc:
        return None, [FlowError(filename, 1, 1, f"this is not valid YAML: {exc}")]
    if not isinstance(data, dict):
        return None, [FlowError(filename, 1, 1, "a flow file must be a list of key: value lines (id, title, steps …)")]
    return data, []


def parse_flow(
    yaml_text: str, filename: str = "<flow>", registry: ActionRegistry | None = None
) -> tuple[Flow | None, list[FlowError]]:
    """Load, migrate, and check a flow. Returns the flow (when there are no errors) and errors."""
    data, errors = _read_yaml(yaml_text, filename)
    if data is None:
        return None, errors
    checker = _Checker(filename, data)
    try:
        migrate(data)
    except MigrationError as exc:
        checker.add(("spec_version",), str(exc))
        return None, checker.errors
    try:
        header = FlowHeader.model_validate(data)
    except ValidationError as exc:
        _pydantic_errors(checker, exc, ())
        header = None
    steps: list[Step] = []
    raw_steps = data.get("steps")
    if isinstance(raw_steps, list):
        if not raw_steps:
            checker.add(("steps",), "the flow has no steps")
        for i, raw in enumerate(raw_steps):
            step = _parse_step(checker, i, raw)
            if step is not None:
                steps.append(step)
    if checker.errors or header is None:
        return None, checker.errors
    flow = Flow(header, steps)
    _Semantics(checker, flow, registry if registry is not None else load_actions()).run()
    if checker.errors:
        return None, checker.errors
    return flow, []


def _parse_step(checker: _Checker, i: int, raw: Any) -> Step | None:
    path = ("steps", i)
    label = checker.step_label(i)
    if not isinstance(raw, dict):
        checker.add(path, f"{label} should be key: value lines (say:, ask:, …), not {raw!r}")
        return None
    kinds = [k for k in STEP_KINDS if k in raw]
    if not kinds:
        hint = ""
        for key in raw:
            if key not in ("id", "if", "next"):
                hint = _did_you_mean(key, STEP_KINDS)
                if hint:
                    checker.add(path + (key,), f"{label}: unknown key '{key}'{hint}", key=True)
                    return None
        checker.add(path, f"{label} does nothing: it needs one of {', '.join(STEP_KINDS)}")
        return None
    if len(kinds) > 1:
        checker.add(
            path + (kinds[1],),
            f"{label} has both '{kinds[0]}' and '{kinds[1]}'; put them in two steps",
            key=True,
        )
        return None
    try:
        return STEP_MODELS[kinds[0]].model_validate(raw)
    except ValidationError as exc:
        _pydantic_errors(checker, exc, path)
        return None


class _Semantics:
    def __init__(self, checker: _Checker, flow: Flow, registry: ActionRegistry):
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
                        + _did_you_mean(name, self.slots),
                    )
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
                f"{what} uses {{{{{name}}}}}, but there is no slot '{head}'" + _did_you_mean(head, self.slots),
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
                f"{what}: the condition '{expr}' names '{head}', which is not a slot" + _did_you_mean(head, self.slots),
            )

    def check_jump(self, path: tuple, target: str | None, label: str, how: str = "jumps to") -> None:
        if target is None or target in self.ids:
            return
        self.c.add(
            path, f"{label} {how} '{target}', which does not exist" + _did_you_mean(target, self.ids - {None})
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
                + _did_you_mean(ask.slot, self.slots),
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
                + _did_you_mean(step.action, self.registry.names()),
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
                    f"{label} saves into slot '{slot}', which is not declared" + _did_you_mean(slot, self.slots),
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


def validate_text(yaml_text: str, filename: str = "<flow>", registry: ActionRegistry | None = None) -> list[FlowError]:
    """Every problem in a flow file (empty when the flow is fine)."""
    return parse_flow(yaml_text, filename, registry)[1]


def load_flow(yaml_text: str, filename: str = "<flow>", registry: ActionRegistry | None = None) -> Flow:
    flow, errors = parse_flow(yaml_text, filename, registry)
    if errors:
        raise FlowValidationError(errors)
    return flow


def validate_files(paths: Iterable[Path], registry: ActionRegistry | None = None,
                   known_flows: Iterable[str] = ()) -> list[FlowError]:
    """Check several files together: each alone, then that every `call:` names a flow."""
    errors: list[FlowError] = []
    flows: dict[str, tuple[Path, Flow]] = {}
    for path in paths:
        flow, errs = parse_flow(path.read_text(encoding="utf-8"), str(path), registry)
        errors.extend(errs)
        if flow is not None:
            flows[flow.id] = (path, flow)
    ids = set(flows) | set(known_flows)
    for path, flow in flows.values():
        for step in flow.steps:
            target = getattr(step, "call", None)
            if target and target not in ids:
                data, _ = _read_yaml(path.read_text(encoding="utf-8"), str(path))
                checker = _Checker(str(path), data)
                i = flow.index[step.id]
                checker.add(("steps", i, "call"),
                            f"{checker.step_label(i)} calls the flow '{target}', which does not exist"
                            + _did_you_mean(target, ids))
                errors.extend(checker.errors)
    return errors
