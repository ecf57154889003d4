"""Repair: what the engine does when a conversation goes off its path — an emergency, the
offer to continue an interrupted flow, cancel, a correction of an earlier answer, an answer
not understood (twice: the menu and a human). A part of the flow runtime's turn
(`flows.runtime._Run` mixes it in)."""
from __future__ import annotations

from vocab.messages import Button
from flows.answers import Parsed, parse_yes_no, pick_choice, refuses_choice
from flows.model import ENTITY_TYPES, AskStep
from flows.texts import (
    CANCEL_WORDS,
    CORRECTION_MARKERS,
    HUMAN_PAYLOAD,
    RESUME_NO_PAYLOAD,
    RESUME_PAYLOAD,
    TEXTS,
    localized,
    phrase,
)
from flows.asking import value_key
from flows.asking import choice_title
from flows.texts import SAFETY_FLOW

__all__ = ["Repair"]


class Repair:
    """How one turn repairs a conversation (mixed into the runtime's turn)."""

    async def _emergency(self) -> None:
        held = self.state.get("held") if self.flow_id == SAFETY_FLOW else None
        if held and held.get("frame"):
            self.state["resume"] = held["frame"]
        elif self.flow is not None and self.flow_id not in ("emergency", SAFETY_FLOW):
            self.state["resume"] = self._frame()
        self._clear_flow(keep_resume=True)
        if not await self._start_by_id("emergency", {}):
            self.turn.say(phrase(self.locale, "emergency"))

    async def _answer_resume_offer(self) -> bool:
        self.state.pop("offer", None)
        payload = self.turn.payload.strip()
        if payload == RESUME_PAYLOAD:
            answer: bool | None = True
        elif payload == RESUME_NO_PAYLOAD:
            answer = False
        else:
            parsed = parse_yes_no(self.turn.text, self.intent)
            if parsed is None:
                idx = pick_choice(self.turn.text, [(True, [phrase(l, "continue") for l in TEXTS]),
                                                   (False, [phrase(l, "no_thanks") for l in TEXTS])])
                parsed = None if idx is None else Parsed(idx == 0)
            answer = None if parsed is None else parsed.value
        resume = self.state.pop("resume", None)
        if answer is None or resume is None:
            return False  # something else: handle the message as usual
        if not answer:
            self.turn.say(phrase(self.locale, "resume_dropped"))
            return True
        self._restore(resume)
        self.flow = await self.rt.flow(self.turn.session, self.version_id)
        if self.flow is None or self.flow.step(self.step_id or "") is None:
            self._clear_flow()
            return False
        await self._run(self.step_id, reask=True)
        return True

    def _is_cancel(self) -> bool:
        t = self.turn.text.strip().lower().strip(" .!?。！？，,~…")
        if t in CANCEL_WORDS or self.turn.payload.strip() == "/cancel":
            return True
        step = self.flow.step(self.step_id) if self.flow is not None else None  # 不要 at 我要报名 / 看别的
        return (isinstance(step, AskStep) and bool(self.state.get("waiting")) and not self.turn.payload.strip()
                and self.flow.slots[step.ask.slot].type == "choice"
                and refuses_choice(self.turn.text, [v for v, _ in self._choices(step)]))

    def _offer_resume(self) -> None:
        resume = self.state.get("resume")
        if not resume:
            return
        flow = self.rt.cache.get(resume.get("version_id"))
        title = localized(flow.title, self.locale) if flow else resume.get("flow_id", "")
        self.turn.say(
            phrase(self.locale, "resume", title=title),
            [Button(phrase(self.locale, "continue"), RESUME_PAYLOAD),
             Button(phrase(self.locale, "no_thanks"), RESUME_NO_PAYLOAD)],
        )
        self.state["offer"] = "resume"

    async def _misunderstood_answer(self, step: AskStep) -> None:
        attempts = int(self.state.get("attempts") or 0) + 1
        self.state["attempts"] = attempts
        self.state["misses"] = int(self.state.get("misses") or 0) + 1
        if attempts < step.ask.max_attempts:
            self._ask(step, retry=True)
            return
        self.state.pop("waiting", None)
        self.state["attempts"] = 0
        if step.ask.on_fail:
            await self._run(step.ask.on_fail)
            return
        self._clear_flow()
        await self._menu_and_human()

    async def _menu_and_human(self) -> None:
        self.state["misses"] = 0
        self.turn.say(phrase(self.locale, "not_understood"), [Button(phrase(self.locale, "human"), HUMAN_PAYLOAD)])
        await self._start_by_id("menu", {})

    # ── corrections ────────────────────────────────────────────────────────────────────
    async def _correction(self, step: AskStep) -> bool:
        """"不对，是西坡村": an entity for another, already filled slot changes that slot."""
        if self.turn.payload:
            return False
        current = self.flow.slots[step.ask.slot]
        lowered = self.turn.text.lower()
        marker = any(m in lowered for m in CORRECTION_MARKERS)
        for e in self.entities:
            if e["entity"] == current.type and current.type in ENTITY_TYPES:
                continue  # an answer to the open question
            for name, slot in self.flow.slots.items():
                if name == step.ask.slot or slot.type != e["entity"] or self.slots.get(name) in (None, ""):
                    continue
                if value_key(self.slots[name]) == value_key(e.get("value")):
                    continue
                if not marker and self._parse_answer(step) is not None:
                    continue
                # a choice's own title, not the words it was found in (a whole sentence for a need)
                label = choice_title(slot, e.get("value")) or self._surface(e)
                self._fill(name, Parsed(e.get("value"), label))
                what = localized(slot.title, self.locale) if slot.title else ""
                key = "corrected" if what else "corrected_plain"
                self.turn.say(phrase(self.locale, key, what=what, label=localized(label, self.locale)))
                self._ask(step, retry=False)
                return True
        return False
