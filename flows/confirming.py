"""The confirming question: a message no trigger matched whose best intent lies in the band
below the threshold (nlu/confidence.py) gets "您是想<label>吗？1 是 2 不是" — or, when the
runner-up is close, "您是想A，还是B？1 A 2 B 3 都不是" — instead of "not understood".

A yes (the button, its number in any form, 是/对/嗯/yes) starts that flow with the original
message, as if it had been understood (a need keeps its text and its category); a no gets the
menu; anything else is a new message and handled as one. The question is kept in
`conversation.state["confirm"]` (the message, its parse, the intents offered) for one turn.

A first message gets "您好，我是乡助。" before the question, not the whole welcome. Inside a
flow it is asked only at a question answered by a pick (a choice, a number, yes or no) that the
message does not answer, and offers only the flows a sure message would start there: a
digression anywhere, any other flow at an `interruptible` question. There a yes does what a sure
message would (a digression, the flow offered again afterwards; or the flow replaced) and a no
asks the open question again.
A part of the flow runtime's turn (`flows.runtime._Run` mixes it in)."""
from __future__ import annotations

from dataclasses import replace

from vocab.messages import Button
from flows.texts import CONFIRM_LABELS, CONFIRM_NO_PAYLOAD, CONFIRM_PAYLOAD, HUMAN_PAYLOAD, localized, phrase
from nlu.choices import yes_or_no
from nlu.confidence import to_confirm

__all__ = ["Confirming"]

CONFIRM = "confirm"  # conversation.state: the open question


class Confirming:
    """Asking and reading the confirming question (mixed into the runtime's turn)."""

    def _confirm_triggers(self) -> list:
        """The triggers a yes may follow: all with no flow running; inside a flow, those a sure
        message would follow at the open question (flows.runtime._Run._in_flow)."""
        triggers = self.rt.triggers(self.current)
        if self.flow is None:
            return triggers
        interruptible = self.flow.step(self.step_id or "").ask.interruptible
        return [t for t in triggers if t.flow.id != self.flow_id and (t.flow.digression or interruptible)]

    def _confirm_offers(self) -> list[tuple[str, object]]:
        """(intent, its trigger) for each intent to ask about that a published flow starts; two
        intents of one flow (list_activities, join_activity) are one offer."""
        offers, flows = [], set()
        intents = to_confirm(self.turn.parse)
        if not intents:
            return offers
        triggers = self._confirm_triggers()
        for intent in intents:
            trigger = next((t for t in triggers if intent in t.intents), None)
            if trigger is not None and trigger.flow.id not in flows:
                offers.append((intent, trigger))
                flows.add(trigger.flow.id)
        return offers

    def _ask_confirm(self, hello: bool = False) -> bool:
        """Ask about the message, if it is in the band; `hello`: a first message, greeted first."""
        offers = self._confirm_offers()
        if not offers:
            return False
        labels = [localized(CONFIRM_LABELS.get(intent) or trigger.flow.title, self.locale) for intent, trigger in offers]
        if len(offers) == 1:
            text = phrase(self.locale, "confirm_one", label=labels[0])
            buttons = [Button(phrase(self.locale, "confirm_yes"), CONFIRM_PAYLOAD + offers[0][0]),
                       Button(phrase(self.locale, "confirm_no"), CONFIRM_NO_PAYLOAD)]
        else:
            text = phrase(self.locale, "confirm_two", first=labels[0], second=labels[1])
            buttons = [*(Button(label[:1].upper() + label[1:], CONFIRM_PAYLOAD + intent)  # "Join an activity"
                         for label, (intent, _) in zip(labels, offers)),
                       Button(phrase(self.locale, "confirm_neither"), CONFIRM_NO_PAYLOAD)]
        if hello:
            text = phrase(self.locale, "confirm_hello") + "\n" + text
        self.turn.say(text, buttons)
        self.state[CONFIRM] = {"text": self.turn.text, "parse": self.turn.parse, "intents": [i for i, _ in offers],
                               "at": self._confirm_at()}
        return True

    def _confirm_at(self) -> str | None:
        """Where the question was asked: the flow and its open question, or None (no flow)."""
        return f"{self.flow_id}:{self.step_id}" if self.flow is not None else None

    async def _answer_confirm(self, pending: dict | None) -> bool:
        """True when this message answered the question (or pressed one of its buttons later);
        False: handle it as a new message."""
        if (pending or {}).get("at") != self._confirm_at():
            if self.flow is not None:
                return False  # asked elsewhere: here its buttons mean nothing
            pending = None
        payload = self.turn.payload.strip()
        intents = list((pending or {}).get("intents") or ())
        if payload == CONFIRM_NO_PAYLOAD:
            chosen = None
        elif payload.startswith(CONFIRM_PAYLOAD):
            chosen = payload[len(CONFIRM_PAYLOAD):].strip()
        elif pending and not payload:
            said = yes_or_no(self.turn.text)  # a whole yes or no: "不是，我想问低保" is a new message
            if said is None or (said and len(intents) != 1):
                return False
            chosen = intents[0] if said else None
        else:
            return False
        self.state["misses"] = 0
        if chosen is None and self.flow is not None:  # back to the open question
            self._ask(self.flow.step(self.step_id), retry=False)
            return True
        if chosen is None:
            if not await self._start_by_id("menu", {}):
                self.turn.say(phrase(self.locale, "fallback"), [Button(phrase(self.locale, "human"), HUMAN_PAYLOAD)])
            return True
        trigger = next((t for t in self._confirm_triggers() if chosen in t.intents), None)
        if trigger is None:
            return False
        if chosen in intents:  # the original message, now understood: the person said which
            parse = {**pending["parse"], "intent": {"name": chosen, "confidence": 1.0}}
            self.turn = replace(self.turn, text=pending["text"], parse=parse, payload="")
            self.entities = self._entities(parse)
            self.intent, self.confidence = chosen, 1.0
        if self.flow is not None and trigger.flow.digression:
            await self._digress(trigger, {})  # this flow is offered again afterwards
            return True
        if self.flow is not None:  # at an interruptible question the request replaces the flow, as a sure one does
            self._language_from_text()
            self._clear_flow()
        await self._start(trigger.flow, trigger.version_id, {})
        return True
