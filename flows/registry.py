"""Registered actions: the Python functions a flow's `action:` step may run.

    @action("set_slots", args={"values": "mapping"})
    async def set_slots(ctx: ActionContext, values: dict) -> dict:
        '''Set slots to values.

            - action: set_slots
              args: {values: {urgency: urgent}}
        '''

Argument types: text, number, bool, mapping, list, any; a trailing `?` makes an argument
optional. The validator checks that a flow names a registered action with known arguments
of the right type; the docstring's YAML is what `xiangzhu flows actions` shows admins.
An action returns a dict (available as `result` in the flow) or None.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Awaitable, Callable

if TYPE_CHECKING:
    from flows.turn import Turn

__all__ = ["ARG_TYPES", "Action", "ActionContext", "ActionRegistry", "action", "default_registry", "load_actions",
           "warm_up"]

ARG_TYPES = {
    "text": (str,),
    "number": (int, float),
    "bool": (bool,),
    "mapping": (dict,),
    "list": (list,),
    "any": (object,),
}


@dataclass
class ActionContext:
    """What an action sees: the turn (session, person, conversation, now, locale, services),
    the running flow's slots (change them in place), and `say` to answer the person."""

    turn: "Turn"
    slots: dict[str, Any]
    flow_id: str = ""
    said: list = field(default_factory=list)

    @property
    def session(self):
        return self.turn.session

    @property
    def person(self):
        return self.turn.person

    @property
    def conversation(self):
        return self.turn.conversation

    @property
    def now(self):
        return self.turn.now

    @property
    def locale(self) -> str:
        return self.turn.locale

    @property
    def services(self):
        return self.turn.services

    def say(self, text: str | dict, buttons=()) -> None:
        """Answer the person; `text` may be `{zh: ..., en: ...}`."""
        if isinstance(text, dict):
            text = text.get(self.locale) or text.get("zh") or ""
        self.turn.say(text, buttons)


@dataclass(frozen=True)
class ArgSpec:
    name: str
    type: str
    required: bool


@dataclass(frozen=True)
class Action:
    name: str
    fn: Callable[..., Awaitable[dict | None]]
    args: dict[str, ArgSpec]
    doc: str

    async def __call__(self, ctx: ActionContext, **kwargs) -> dict | None:
        return await self.fn(ctx, **kwargs)


class ActionRegistry:
    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}
        self._warmers: list[Callable[[Any], Awaitable[None]]] = []

    def register(self, name: str, fn: Callable, args: dict[str, str] | None = None) -> Action:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"action {name!r} must be an async function")
        specs = {}
        for arg, type_ in (args or {}).items():
            required = not type_.endswith("?")
            base = type_.rstrip("?")
            if base not in ARG_TYPES:
                raise ValueError(f"action {name!r}: argument {arg!r} has unknown type {type_!r}")
            specs[arg] = ArgSpec(arg, base, required)
        registered = Action(name, fn, specs, inspect.getdoc(fn) or "")
        self._actions[name] = registered
        return registered

    def action(self, name: str, args: dict[str, str] | None = None):
        def decorate(fn):
            self.register(name, fn, args)
            return fn

        return decorate

    def warm_up(self, fn: Callable[[Any], Awaitable[None]]):
        """Register `await fn(session)`, run when the application starts: actions build their
        caches there (e.g. the policy search index), so the first villagers after a start or
        a publish do not wait for them."""
        self._warmers.append(fn)
        return fn

    @property
    def warmers(self) -> list[Callable[[Any], Awaitable[None]]]:
        return list(self._warmers)

    def get(self, name: str) -> Action | None:
        return self._actions.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._actions

    def names(self) -> list[str]:
        return sorted(self._actions)

    def copy(self) -> "ActionRegistry":
        other = ActionRegistry()
        other._actions = dict(self._actions)
        other._warmers = list(self._warmers)
        return other

    def check_args(self, name: str, given: dict[str, Any]) -> list[str]:
        """Problems with the arguments a flow passes to action `name`, in plain words."""
        act = self._actions[name]
        problems = []
        for arg in given:
            if arg not in act.args:
                known = ", ".join(sorted(act.args)) or "none"
                problems.append(f"action '{name}' has no argument '{arg}' (it takes: {known})")
        for spec in act.args.values():
            if spec.required and spec.name not in given:
                problems.append(f"action '{name}' needs the argument '{spec.name}'")
            elif spec.name in given and not _fits(given[spec.name], spec.type):
                problems.append(
                    f"action '{name}': argument '{spec.name}' should be {_TYPE_WORDS[spec.type]}, "
                    f"not {given[spec.name]!r}"
                )
        return problems


_TYPE_WORDS = {
    "text": "text",
    "number": "a number",
    "bool": "true or false",
    "mapping": "a list of key: value pairs",
    "list": "a list",
    "any": "a value",
}


def _fits(value: Any, type_: str) -> bool:
    if isinstance(value, str) and "{{" in value:
        return True  # filled at run time
    if type_ == "number" and isinstance(value, bool):
        return False
    if type_ == "text" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return True  # YAML turns 12 into a number; as text it is "12"
    return isinstance(value, ARG_TYPES[type_])


default_registry = ActionRegistry()
action = default_registry.action
warm_up = default_registry.warm_up


def load_actions() -> ActionRegistry:
    """The registry with every action: importing the modules that define them registers them
    (imported here, not at the top, because they import this module)."""
    from flows import actions_core, actions_mission  # noqa: F401

    return default_registry
