"""Running a step's action and handing a conversation to a person: the registered action
called with its arguments rendered, its result kept (as JSON) and saved into slots. A part of
the flow runtime's turn (`flows.runtime._Run` mixes it in)."""
from __future__ import annotations

import inspect
import logging
from typing import Any

from flows import templates
from flows.model import HandoffStep
from flows.registry import ActionContext
from flows.texts import localized

__all__ = ["Acting", "jsonable"]

log = logging.getLogger("xiangzhu.flows")


class Acting:
    """How one turn runs an action or a handoff (mixed into the runtime's turn)."""

    # ── actions and handoff ────────────────────────────────────────────────────────────
    async def _action(self, name: str, args: dict, save: dict) -> dict | None:
        action = self.rt.registry.get(name)
        if action is None:
            log.error("flow %s runs the action %s, which is not registered", self.flow_id, name)
            return None
        env = self._condition_names()
        values = {k: templates.render_value(v, env) for k, v in args.items()}
        ctx = ActionContext(self.turn, self.slots, self.flow_id or "")
        result = await action(ctx, **values)
        self.state["result"] = jsonable(result) if result is not None else {}
        if isinstance(result, dict) and result.get("erased"):
            self.state.pop("resume", None)  # the interrupted flow holds what the person said
        for slot, field in save.items():
            self.slots[slot] = templates.lookup(field, self.state["result"])
        return result

    async def _handoff(self, step: HandoffStep) -> None:
        spec = step.handoff
        if "open_handoff" not in self.rt.registry:
            log.warning("flow %s hands off, but no action 'open_handoff' is registered", self.flow_id)
            return
        summary = self._render(localized(spec.summary, self.locale)) if spec.summary else ""
        action = self.rt.registry.get("open_handoff")
        args = {"reason": spec.reason, "priority": spec.priority, "summary": summary}
        accepted = inspect.signature(action.fn).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
            args = {k: v for k, v in args.items() if k in accepted}
        await self._action("open_handoff", args, {})


def jsonable(value: Any) -> Any:
    """Action results are kept in the conversation row (JSON): dates become text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
