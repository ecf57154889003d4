"""Loading and checking flow files: YAML → format migration → schema → meaning.

Every problem becomes a `FlowError` whose text is `file:line:column: message`, written for
an admin ("step 'confirm' jumps to 'enrol', which does not exist — did you mean 'enroll'?").
Line and column come from ruamel's round-trip tree, walked along the problem's path
(flows/checker.py). Here: reading, format migration and the schema; what the flow means is
checked in flows/semantics.py.

    validate_text(yaml_text, "need_request.yaml") -> list[FlowError]
    load_flow(yaml_text, "need_request.yaml") -> Flow       # raises FlowValidationError
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from flows.checker import Checker, FlowError, FlowValidationError, did_you_mean
from flows.migrations import MigrationError, migrate
from flows.model import LOCALES, STEP_KINDS, STEP_MODELS, ChoiceDef, Flow, FlowHeader, Step
from flows.registry import ActionRegistry, load_actions
from flows.semantics import Semantics

__all__ = ["FlowError", "FlowValidationError", "load_flow", "parse_flow", "validate_text", "validate_files"]


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


def _pydantic_errors(checker: Checker, exc: ValidationError, prefix: tuple) -> None:
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
            checker.add(loc, f"{where}unknown key '{key}'{did_you_mean(key, _KNOWN_KEYS)}", key=True)
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
    checker = Checker(filename, data)
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
    Semantics(checker, flow, registry if registry is not None else load_actions()).run()
    if checker.errors:
        return None, checker.errors
    return flow, []


def _parse_step(checker: Checker, i: int, raw: Any) -> Step | None:
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
                hint = did_you_mean(key, STEP_KINDS)
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
                checker = Checker(str(path), data)
                i = flow.index[step.id]
                checker.add(("steps", i, "call"),
                            f"{checker.step_label(i)} calls the flow '{target}', which does not exist"
                            + did_you_mean(target, ids))
                errors.extend(checker.errors)
    return errors
