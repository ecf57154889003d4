"""Asking and understanding the answer: a question's choices and buttons, the reply parsed
for the slot's type (flows/answers.py), and the slot filled. A part of the flow runtime's turn
(`flows.runtime._Run` mixes it in): the methods use the turn's state."""
from __future__ import annotations

from typing import Any

from vocab.messages import Button
from flows.turn import CHOICE_PREFIX
from flows import templates
from flows.answers import (
    Parsed,
    parse_date,
    parse_number,
    parse_phone,
    parse_text,
    parse_yes_no,
    pick_choice,
    pick_number,
    pick_title,
)
from flows.model import ENTITY_TYPES, AskStep
from flows.texts import SKIP_VALUE, TEXTS, localized, phrase

__all__ = ["Asking", "choice_title", "skips", "value_key"]


class Asking:
    """How one turn asks a question and reads the answer (mixed into the runtime's turn)."""

    # ── asking ─────────────────────────────────────────────────────────────────────────
    def _choices(self, step: AskStep) -> list[tuple[Any, Any]]:
        """[(value, title)] for the open question; title is {zh, en} or text."""
        ask = step.ask
        if ask.choices:
            return [(c.value, c.title) for c in ask.choices]
        if ask.choices_from:
            if self.state.get("waiting") and self.state.get("choices") is not None:
                return [tuple(c) for c in self.state["choices"]]
            items = templates.lookup(ask.choices_from, self._condition_names()) or []
            out = []
            for item in items if isinstance(items, list) else []:
                if isinstance(item, dict) and "value" in item:
                    out.append((item["value"], item.get("title", item["value"])))
                else:
                    out.append((item, str(item)))
            return out
        slot = self.flow.slots[ask.slot]
        if slot.choices:
            return [(c.value, c.title) for c in slot.choices]
        if slot.type == "yes_no":
            return [(True, {l: phrase(l, "yes") for l in TEXTS}), (False, {l: phrase(l, "no") for l in TEXTS})]
        return []

    def _ask(self, step: AskStep, retry: bool) -> None:
        ask = step.ask
        self.step_id = step.id
        self._reached(step)
        self.state["waiting"] = True
        if not retry:
            self.state["attempts"] = 0
        choices = self._choices(step)
        if ask.choices_from:
            self.state["choices"] = [[v, t] for v, t in choices]
        message = ask.retry if (retry and ask.retry) else ask.question
        buttons = [Button(self._render(localized(title, self.locale)), f"{CHOICE_PREFIX}{value_key(value)}")
                   for value, title in choices]
        if ask.skip:
            buttons.append(Button(localized(ask.skip, self.locale), f"{CHOICE_PREFIX}{SKIP_VALUE}"))
        self.turn.say(self._render(localized(message, self.locale)), buttons)

    def _parse_answer(self, step: AskStep) -> Parsed | None:
        ask = step.ask
        slot = self.flow.slots[ask.slot]
        text = self.turn.text
        payload = self.turn.payload.strip()
        choices = self._choices(step)
        if ask.skip and (payload == f"{CHOICE_PREFIX}{SKIP_VALUE}" or (not payload and skips(text, ask.skip, slot, choices))):
            return Parsed(None)
        parsed: Parsed | None = None
        if payload.startswith(CHOICE_PREFIX):
            key = payload[len(CHOICE_PREFIX):]
            for value, title in choices:
                if value_key(value) == key:
                    parsed = Parsed(value, title)
            if parsed is None:
                return None
        elif slot.type in ENTITY_TYPES:
            for e in self.entities:
                if e["entity"] == slot.type:
                    parsed = Parsed(e.get("value"), self._surface(e))
                    break
            if parsed is not None and choices and not any(value_key(v) == value_key(parsed.value)
                                                          for v, _ in choices):
                parsed = None
            if parsed is None and choices:
                parsed = self._pick(text, choices)
            if parsed is None and slot.accept_text:
                parsed = parse_text(text)
        elif slot.type == "choice":
            parsed = self._pick(text, choices)
            if parsed is None:
                for e in self.entities:
                    if e["entity"] == ask.slot and any(value_key(v) == value_key(e.get("value")) for v, _ in choices):
                        value = e.get("value")
                        title = next(t for v, t in choices if value_key(v) == value_key(value))
                        parsed = Parsed(value, title)
        elif slot.type == "yes_no":
            parsed = parse_yes_no(text, self.intent)
            i = pick_number(text, len(choices)) if parsed is None else None
            if i is not None:  # 第一个 / 2号: the numbered 是 / 否 buttons
                parsed = Parsed(choices[i][0], choices[i][1])
        elif slot.type == "number":
            parsed = parse_number(text)
            if parsed is not None and ((slot.min is not None and parsed.value < slot.min)
                                       or (slot.max is not None and parsed.value > slot.max)):
                parsed = None
        elif slot.type == "phone":
            parsed = parse_phone(text)
        elif slot.type == "date":
            parsed = parse_date(text, self.turn.now.date())
        else:
            parsed = parse_text(text, slot.min_length, slot.max_length)
        if parsed is not None and ask.validate_ and not self._condition(ask.validate_, parsed.value):
            return None
        return parsed

    def _answered_by_a_pick(self, step: AskStep) -> bool:
        """The question takes a choice, a number or a yes/no — never free words (a need's
        description is an answer whatever it says, so nothing is asked about it)."""
        slot = self.flow.slots[step.ask.slot]
        if slot.accept_text or slot.type == "text":
            return False
        return slot.type in ("choice", "yes_no", "number") or bool(self._choices(step))

    def _pick(self, text: str, choices: list[tuple[Any, Any]]) -> Parsed | None:
        options = []
        for value, title in choices:
            titles = [self._render(localized(title, l)) for l in (self.locale, "zh", "en")]
            options.append((value, titles))
        i = pick_choice(text, options)
        return None if i is None else Parsed(choices[i][0], choices[i][1])

    def _fill(self, name: str, parsed: Parsed) -> None:
        self.slots[name] = parsed.value
        labels = dict(self.state.get("labels") or {})
        if parsed.label not in ("", None) and parsed.label != parsed.value:
            labels[name] = parsed.label
        else:
            labels.pop(name, None)
        self.state["labels"] = labels

    def _surface(self, entity: dict) -> str:
        start, end = entity.get("start"), entity.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(self.turn.text):
            return self.turn.text[start:end]
        return str(entity.get("value"))


def value_key(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def choice_title(slot, value: Any) -> Any:
    """The title ({zh, en}) of the slot's fixed choice with this value, or None."""
    return next((c.title for c in slot.choices or () if value_key(c.value) == value_key(value)), None)


def skips(text: str, skip: Any, slot, choices: list) -> bool:
    """The skip button's title ("跳过", "不用了"), or its number (the last button) where a
    number is not itself the answer."""
    if pick_title(text, [localized(skip, locale) for locale in TEXTS]) is not None:
        return True
    return slot.type != "number" and pick_number(text, len(choices) + 1) == len(choices)
