"""The names a flow's conditions and templates see in one turn (slots, intent, entities, the
last action's result, the person, the locale), and how a value is shown back. A part of the
flow runtime's turn (`flows.runtime._Run` mixes it in)."""
from __future__ import annotations

import logging
from typing import Any

from flows import templates
from vocab import conditions
from flows.texts import localized, phrase
from flows.asking import choice_title

__all__ = ["Names"]

log = logging.getLogger("xiangzhu.flows")


class Names:
    """What conditions and templates see in one turn (mixed into the runtime's turn)."""

    # ── names for templates and conditions ─────────────────────────────────────────────
    def _person(self) -> dict:
        p = self.turn.person
        return {"consent": bool(getattr(p, "consent_given", False)), "locale": self.locale,
                "opted_out": bool(getattr(p, "opted_out", False)), "id": getattr(p, "id", None)}

    def _condition_names(self, value: Any = None) -> dict:
        entities: dict[str, Any] = {}
        for e in self.entities:
            entities.setdefault(e["entity"], e.get("value"))
        names = {s: None for s in self.flow.slots} if self.flow else {}
        names.update(self.slots)
        names.update({"intent": self.intent, "entities": entities, "result": self.state.get("result") or {},
                      "person": self._person(), "locale": self.locale, "value": value})
        return names

    def _condition(self, expr: str, value: Any = None) -> bool:
        try:
            return bool(conditions.evaluate(expr, self._condition_names(value)))
        except conditions.ConditionError as exc:
            log.warning("flow %s: %s (taken as false)", self.flow_id, exc)
            return False

    def _show(self, name: str, value: Any) -> str:
        slot_name = name.split(".")[0]
        slot = self.flow.slots.get(slot_name) if self.flow and "." not in name else None
        if slot is not None:
            label = (self.state.get("labels") or {}).get(slot_name)
            if slot.type == "yes_no" and isinstance(value, bool):
                return phrase(self.locale, "yes" if value else "no")
            title = choice_title(slot, value)  # in the language of now, not the words it was said in
            if title:
                return localized(title, self.locale)
            if label:
                return localized(label, self.locale)
        if value is None:
            return ""
        if isinstance(value, dict) and ("zh" in value or "en" in value):
            return localized(value, self.locale)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, list):
            return "、".join(self._show("", v) for v in value)
        return str(value)

    def _render(self, text: str) -> str:
        if "{{" not in text:  # nothing to fill (most texts): skip building the names
            return text
        env = self._condition_names()
        return templates.render(text, env, self._show)
