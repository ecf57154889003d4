"""The flow runtime: one message in, the flow moves on, replies out.

`FlowRuntime(store, registry)` is the dispatcher's `TurnHandler`. Everything it knows about a
person's conversation lives in the `conversations` row (flow_id, flow_version_id, step,
slots, stack, state) and is written back on every turn, so a restart resumes at the same
step. Parsed flows are cached by their immutable version id; each turn asks the database for
the current version ids (one query), so a publish reaches every process on its next message,
while a conversation keeps the version it started on.

Repair is built in, in this order: emergency → safety question → "continue?" answer → cancel →
correction → digression → the answer → "中文"/"English" → digression by intent → another flow
(at an `interruptible` question) → an intent below the threshold but likely: one confirming
question (flows/confirming.py; in a flow only at a choice, number or yes/no the message does not
answer, and only for a flow a sure message would start there) → misunderstanding (twice in a
row: the menu and a human). A turn that would end without a word gets the menu: nobody is met
with silence. A first message sets the reply language from its text; one in the confirming band
gets "您好，我是乡助。" and the question instead of the whole welcome. An emergency the detector is sure of starts the flow
`emergency`; one it is unsure of (`parse["emergency"]["level"] == "unsure"`) holds the message
and starts `safety_check`: "safe" goes on with the held message as usual, anything else ends
in `emergency`.
`conversation.state` holds the engine's bookkeeping:

    waiting   at an ask, waiting for the answer      attempts  wrong answers at this ask
    misses    misunderstandings in a row             result    the last action's result
    labels    how slot values are shown back         choices   the open question's choices
    resume    an interrupted flow to offer again     offer     "resume" while asking that
    seen      the person has written before          shown     the choices shown last (the
                                                                dispatcher keeps it; a number
                                                                or title picks from it)
    held      the message the safety question holds
    confirm   the confirming question open for one message (the message, its parse, the intents)

In modules of their own: the engine's words (flows/texts.py), asking and reading an answer
(flows/asking.py), repair (flows/repair.py), actions and handoffs (flows/acting.py), what starts a
flow (flows/triggers.py), the confirming question (flows/confirming.py), the names conditions and
templates see (flows/names.py); `_Run` mixes asking, repair, confirming, acting and names in.
What is left here (~590 lines) is the interpreter itself — the order of things in a turn and the
step machine — kept whole so it reads top to bottom.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from vocab.messages import Button
from flows.turn import CHOICE_PREFIX, Turn
from flows.answers import Parsed, parse_safe
from flows.model import (
    ENTITY_TYPES,
    ActionStep,
    AskStep,
    BranchStep,
    CallStep,
    EndStep,
    Flow,
    GotoStep,
    HandoffStep,
    SayStep,
)
from flows.registry import ActionRegistry, load_actions
from flows.validate import FlowValidationError, load_flow
from nlu.confidence import INTENT_THRESHOLD
from nlu.language import detect_language
from flows.texts import HUMAN_PAYLOAD, SAFETY_FLOW, localized, phrase
from flows.acting import Acting
from flows.asking import Asking
from flows.confirming import CONFIRM, Confirming
from flows.names import Names
from flows.repair import Repair
from flows.triggers import Trigger

__all__ = ["FlowRuntime", "RunObserver"]

log = logging.getLogger("xiangzhu.flows")

MAX_STEPS_PER_TURN = 100

# the whole message names a language: switch to it at any time (the flow `language`)
LANGUAGE_WORDS = {"中文": "zh", "汉语": "zh", "普通话": "zh", "说中文": "zh", "chinese": "zh",
                  "english": "en", "英文": "en", "英语": "en", "说英文": "en"}


class _FlowCache:
    """Parsed flows by immutable version id (bounded, least recently used dropped)."""

    def __init__(self, size: int = 512):
        self.size = size
        self._flows: OrderedDict[int, Flow | None] = OrderedDict()

    def get(self, version_id: int) -> Flow | None | bool:
        if version_id in self._flows:
            self._flows.move_to_end(version_id)
            return self._flows[version_id]
        return False

    def missing(self, version_ids: list[int]) -> list[int]:
        """The versions not held (a membership test each: every turn asks for every published
        flow, and refreshing their places in the order cost more than the rest of the look-up)."""
        flows = self._flows
        return [v for v in version_ids if v not in flows]

    def put(self, version_id: int, flow: Flow | None) -> None:
        self._flows[version_id] = flow
        self._flows.move_to_end(version_id)
        while len(self._flows) > self.size:
            self._flows.popitem(last=False)


class RunObserver:
    """What a runtime tells an observer while it runs a turn (the flow editor's simulator draws
    the path and the slot panel from it). Subclass and override what you need; the defaults do
    nothing. Without an observer the runtime does not call anything."""

    def step_reached(self, flow_id: str, step_id: str) -> None:
        """The engine runs this step (a say, an action … or asks its question)."""

    def flow_ended(self, flow_id: str, slots: dict) -> None:
        """A flow ends (done, cancelled or left); `slots` are its values at that moment — the
        engine clears them right after."""


class FlowRuntime:
    """The dispatcher's TurnHandler: runs the YAML flows stored in the database.
    `observer` (a RunObserver) hears each step reached and each flow ended."""

    def __init__(self, store: Any = None, registry: ActionRegistry | None = None, *, cache_size: int = 512,
                 observer: RunObserver | None = None):
        if store is None:
            from storage import flow_store as store
        self.store = store
        self.observer = observer
        self.registry = registry if registry is not None else load_actions()
        self.cache = _FlowCache(cache_size)
        self._index_key: tuple | None = None
        self._index: list[Trigger] = []

    @classmethod
    def from_services(cls, services: Any) -> "FlowRuntime":
        """The runtime the application uses; seeds the built-in flows when it starts."""
        runtime = cls()

        async def seed() -> None:
            from flows.store import seed_builtin

            try:
                async with services.db.session() as session:
                    seeded = await seed_builtin(session, registry=runtime.registry)
                if seeded:
                    log.info("seeded built-in flows: %s", ", ".join(seeded))
            except FlowValidationError as exc:
                log.error("some built-in flows have errors and were not seeded:\n%s", exc)
            try:
                await runtime.warm(services)
            except Exception:  # a cold cache is slower, not wrong
                log.warning("warming the flow and action caches failed", exc_info=True)

        if hasattr(services, "on_start"):
            services.on_start(seed)
        return runtime

    async def warm(self, services: Any) -> None:
        """Parse the published flows and run the actions' warm-up hooks (`warm_up`), so the
        first messages after a start do not wait for them."""
        async with services.db.session() as session:
            await self._load(session, list((await self.store.current_ids(session)).values()))
            for warm in self.registry.warmers:
                await warm(session)

    async def handle(self, turn: Turn) -> None:
        current = await self.store.current_ids(turn.session)
        await self._load(turn.session, list(current.values()))
        run = _Run(self, turn, current)
        try:
            await run.handle()
            if not turn.replies:  # never silence: whatever ended the turn, offer the menu
                await run.silent()
        finally:
            run.save()

    # flows --------------------------------------------------------------------------------

    async def _load(self, session, version_ids: list[int]) -> None:
        missing = self.cache.missing(version_ids)
        for version in await self.store.get_versions(session, missing):
            self.cache.put(version.id, self._parse(version))

    def _parse(self, version) -> Flow | None:
        try:
            return load_flow(version.yaml, f"{version.flow_id}.yaml", self.registry)
        except FlowValidationError as exc:
            log.error("flow %s version %s does not load and is skipped:\n%s", version.flow_id, version.version, exc)
            return None

    async def flow(self, session, version_id: int | None) -> Flow | None:
        if version_id is None:
            return None
        found = self.cache.get(version_id)
        if found is False:
            await self._load(session, [version_id])
            found = self.cache.get(version_id)
        return found or None

    def triggers(self, current: dict[str, int]) -> list["Trigger"]:
        key = tuple(sorted(current.items()))
        if key != self._index_key:
            index = []
            for flow_id, version_id in sorted(current.items()):
                flow = self.cache.get(version_id)
                if flow:
                    index.append(Trigger(flow, version_id))
            self._index, self._index_key = index, key
        return self._index


class _Run(Asking, Repair, Confirming, Acting, Names):
    """One turn: a working copy of the conversation, written back by `save()`."""

    def __init__(self, runtime: FlowRuntime, turn: Turn, current: dict[str, int]):
        self.rt = runtime
        self.turn = turn
        self.current = current
        conv = turn.conversation
        self.flow_id: str | None = conv.flow_id
        self.version_id: int | None = conv.flow_version_id
        self.step_id: str | None = conv.step
        self.slots: dict = dict(conv.slots or {})
        self.stack: list = list(conv.stack or [])
        self.state: dict = dict(conv.state or {})
        self.flow: Flow | None = None
        self.entities = self._entities(turn.parse)
        self.intent = (turn.parse.get("intent") or {}).get("name") or ""
        self.confidence = float((turn.parse.get("intent") or {}).get("confidence") or 0.0)
        self.carry_on: dict | None = None  # the held message, once the person said they are safe
        self.carrying = False  # that held message is being handled now
        self.confirm: dict | None = None  # the confirming question asked last turn, if any

    @staticmethod
    def _entities(parse: dict) -> list[dict]:
        return [e for e in parse.get("entities") or [] if isinstance(e, dict) and e.get("entity")]

    @property
    def locale(self) -> str:
        return self.turn.locale

    def save(self) -> None:
        conv = self.turn.conversation
        conv.flow_id = self.flow_id
        conv.flow_version_id = self.version_id if self.flow_id else None
        conv.step = self.step_id if self.flow_id else None
        conv.slots = dict(self.slots) if self.flow_id else {}
        conv.stack = list(self.stack) if self.flow_id else []
        self.state["seen"] = True
        conv.state = dict(self.state)

    # ── the order of things ────────────────────────────────────────────────────────────
    async def handle(self) -> None:
        first_contact = not self.state.get("seen")
        self.confirm = self.state.pop(CONFIRM, None)  # the confirming question is open for this one message
        if first_contact:
            self._language_from_text()
        if self.flow_id:
            self.flow = await self.rt.flow(self.turn.session, self.version_id)
            if self.flow is None or self.flow.step(self.step_id or "") is None:
                log.error("conversation %s points at a missing flow %s/%s step %s; starting over",
                          self.turn.conversation.id, self.flow_id, self.version_id, self.step_id)
                self._clear_flow()
        alarm = self.turn.parse.get("emergency") or {}
        # a button title is a choice, not a cry; the classifier alone (no lexicon kinds) does not
        # interrupt an answer to an open question or a command a flow is started by
        unsure = (not self.turn.payload and alarm.get("level") == "unsure" and not self._is_shown_title()
                  and bool(alarm.get("kinds") or not (self.flow is not None and self.state.get("waiting")
                                                      or self._match_trigger(by_intent=False) is not None)))
        if self.turn.emergency is not None or (unsure and self.flow_id == SAFETY_FLOW):
            await self._emergency()  # a second unsure message while asked is an emergency too
            return
        if unsure:
            await self._ask_safety(first_contact)
            return
        if self.state.get("offer") == "resume":
            if await self._answer_resume_offer():
                return
        if self.flow is None and await self._answer_confirm(self.confirm):
            return
        if self.flow is not None:
            step = self.flow.step(self.step_id)
            if self.flow_id == SAFETY_FLOW and not self.turn.payload and isinstance(step, AskStep):
                answer = parse_safe(self.turn.text)
                if answer is None:  # no digressions while asked: ask again, then err toward a human
                    await self._misunderstood_answer(step)
                    return
                self.turn.payload = f"{CHOICE_PREFIX}{answer.value}"
            await self._in_flow()
            await self._carry_on()
            return
        await self._no_flow(first_contact)

    async def silent(self) -> None:
        log.warning("conversation %s: the turn in flow %s at step %s said nothing; offering the menu",
                    self.turn.conversation.id, self.flow_id, self.step_id)
        if self.state.get("misses"):
            await self._menu_and_human()
        elif not await self._start_by_id("menu", {}):
            self.turn.say(phrase(self.locale, "fallback"), [Button(phrase(self.locale, "human"), HUMAN_PAYLOAD)])

    def _language_from_text(self) -> None:
        """Answer in the language the message is written in (a first message, or a real
        message instead of an answer to the language question)."""
        lang = None if self.turn.payload else detect_language(self.turn.text)
        if lang is not None and lang != self.turn.locale:
            self.turn.person.locale = lang
            self.turn.locale = lang

    def _language_word(self) -> str | None:
        return LANGUAGE_WORDS.get(self.turn.text.strip().lower().strip(" .!?。！？，,~"))

    async def _ask_safety(self, first_contact: bool) -> None:
        """Unsure: hold the message (and the flow the person is in) and ask if they are safe."""
        frame = {**self._frame(), "waiting": bool(self.state.get("waiting"))} if self.flow is not None else None
        self._clear_flow(keep_resume=True)
        if not await self._start_by_id(SAFETY_FLOW, {}):
            await self._emergency()  # no way to ask: err toward a human
            return
        self.state["held"] = {"text": self.turn.text, "parse": self.turn.parse, "frame": frame, "first": first_contact}

    def _is_shown_title(self) -> bool:
        """The text is the title of a button just shown (typed or echoed): a choice, not a cry."""
        text = self.turn.text.strip().casefold()
        return any(text == str(title).strip().casefold() for title, _ in self.state.get("shown") or ())

    async def _carry_on(self) -> None:
        """The person is safe: handle the held message as if it had just arrived."""
        held, self.carry_on = self.carry_on, None
        if held is None:
            return
        parse = {**held["parse"], "emergency": {**held["parse"].get("emergency", {}), "level": "none"}}
        self.turn = replace(self.turn, text=held["text"], parse=parse, payload="")
        self.entities = self._entities(parse)
        self.intent, self.confidence = _intent_given_safe(parse)
        frame = held.get("frame")
        if frame:
            self._restore(frame)
            self.flow = await self.rt.flow(self.turn.session, self.version_id)
            if self.flow is None or self.flow.step(self.step_id or "") is None:
                self._clear_flow(keep_resume=True)
            elif frame.get("waiting"):
                self.state["waiting"] = True
        if self.flow is not None:
            self.carrying = True
            try:
                await self._in_flow()
            finally:
                self.carrying = False
            return
        found = self._language_trigger() or self._match_trigger(bool(held.get("first")))
        if found is None:  # a worrying message nothing else takes: offer a person, not "not understood"
            self.turn.say(phrase(self.locale, "safe_offer"), [Button(phrase(self.locale, "human"), HUMAN_PAYLOAD)])
            return
        self.state["misses"] = 0
        await self._start(found[0].flow, found[0].version_id, found[1])

    async def _in_flow(self) -> None:
        flow = self.flow
        if self._is_cancel():
            title = localized(flow.title, self.locale)
            self._clear_flow(keep_resume=True)
            self.state["misses"] = 0
            self.turn.say(phrase(self.locale, "cancelled", title=title))
            self._offer_resume()
            return
        step = flow.step(self.step_id)
        if not (isinstance(step, AskStep) and self.state.get("waiting")):
            await self._run(self.step_id)  # a turn that stopped half-way: go on from here
            return
        confirm, self.confirm = self.confirm, None
        if confirm is not None and await self._answer_confirm(confirm):
            return
        if await self._correction(step):
            return
        target = self._digression(by_intent=False)
        if target is not None:
            await self._digress(*target)
            return
        parsed = self._parse_answer(step)
        if parsed is not None:
            self._fill(step.ask.slot, parsed)
            self.state["misses"] = 0
            self.state["attempts"] = 0
            self.state.pop("waiting", None)
            self.state.pop("choices", None)
            await self._run(self._next_of(step))
            return
        target = self._language_trigger() if self.flow_id != "language" else None
        if target is not None:  # "English" / "中文": switch now, then offer to go on
            await self._digress(*target)
            return
        target = self._digression(by_intent=True)
        if target is not None:
            await self._digress(*target)
            return
        if step.ask.interruptible:
            target = self._match_trigger(others_only=True)
            if target is not None:  # a real request instead of an answer: it replaces this flow
                self._language_from_text()
                self._clear_flow()
                await self._start(target[0].flow, target[0].version_id, target[1])
                return
        if not self.carrying and self._answered_by_a_pick(step) and self._ask_confirm():
            return  # no answer to a pick, and likely a request: ask, do not re-ask
        if self.carrying:  # the worrying message answers nothing here: a person first, the question later
            self.state["resume"] = self._frame()
            self._clear_flow(keep_resume=True)
            self.turn.say(phrase(self.locale, "safe_offer"), [Button(phrase(self.locale, "human"), HUMAN_PAYLOAD)])
            return
        await self._misunderstood_answer(step)

    def _language_trigger(self) -> tuple["Trigger", dict] | None:
        """The flow `language` with its slot filled, when the whole message names a language."""
        word = self._language_word()
        if word is None:
            return None
        trigger = next((t for t in self.rt.triggers(self.current) if t.flow.id == "language"), None)
        return None if trigger is None else (trigger, {"language": word})

    async def _no_flow(self, first_contact: bool) -> None:
        found = self._language_trigger() or self._match_trigger()
        # a first message in the band: a line of welcome and the question, not the whole welcome
        if found is None and self._ask_confirm(hello=first_contact):
            return
        if found is None and first_contact:
            found = self._match_trigger(first_contact=True)
        if found is not None:
            trigger, captured = found
            self.state["misses"] = 0
            await self._start(trigger.flow, trigger.version_id, captured)
            return
        self.state["misses"] = int(self.state.get("misses") or 0) + 1
        if self.state["misses"] >= 2:
            await self._menu_and_human()
            return
        if not await self._start_by_id("fallback", {}):
            self.turn.say(phrase(self.locale, "fallback"), [Button(phrase(self.locale, "human"), HUMAN_PAYLOAD)])

    # ── triggers ───────────────────────────────────────────────────────────────────────
    def _payload(self) -> str:
        return self.turn.payload  # the dispatcher also takes a payload echoed as the text

    def _match_trigger(self, first_contact: bool = False, only_digressions: bool = False,
                       by_intent: bool = True, by_text: bool = True, others_only: bool = False,
                       whole_pattern: bool = False) -> tuple[Trigger, dict] | None:
        triggers = [t for t in self.rt.triggers(self.current)
                    if not only_digressions or t.flow.digression]
        if only_digressions or others_only:
            triggers = [t for t in triggers if t.flow.id != self.flow_id]
        payload = self._payload()
        if payload:
            for t in triggers:
                captured = t.match_payload(payload)
                if captured is not None:
                    return t, captured
            if payload.startswith(CHOICE_PREFIX):  # an earlier question's answer: its text means nothing else
                by_text = by_intent = False
        if by_text:
            for t in triggers:
                captured = t.match_text(self.turn.text, whole_pattern) if t.patterns else None
                if captured is not None:
                    return t, captured
            # the first trigger with the longest keyword in the text (the text lowered once)
            lowered, best, longest = self.turn.text.lower(), None, 0
            for t in triggers:
                n = t.keyword_in(lowered)
                if n > longest:
                    best, longest = t, n
            if best is not None:
                return best, {}
        if by_intent and self.intent and self.confidence >= INTENT_THRESHOLD:
            for t in triggers:
                if self.intent in t.intents:
                    return t, {}
        if first_contact and not only_digressions:
            for t in triggers:
                if t.flow.triggers.first_contact:
                    return t, {}
        return None

    def _digression(self, by_intent: bool) -> tuple[Trigger, dict] | None:
        if by_intent:
            return self._match_trigger(only_digressions=True, by_text=False)
        payload = self._payload()
        if payload.startswith(CHOICE_PREFIX):
            return None
        if payload:
            for t in self.rt.triggers(self.current):  # a pressed button always wins
                if t.flow.id != self.flow_id:
                    captured = t.match_payload(payload)
                    if captured is not None:
                        return t, captured
        step = self.flow.step(self.step_id or "")
        free_text = isinstance(step, AskStep) and (self.flow.slots[step.ask.slot].type == "text"
                                                   or self.flow.slots[step.ask.slot].accept_text)
        # at a free-text question a case number inside the answer is part of the answer
        return self._match_trigger(only_digressions=True, by_intent=False, whole_pattern=free_text)

    async def _digress(self, trigger: Trigger, captured: dict) -> None:
        step = self.flow.step(self.step_id or "")
        if isinstance(step, AskStep) and step.ask.interruptible:
            self._language_from_text()  # a request instead of an answer is answered in its language
        self.state["resume"] = self._frame()
        self._clear_flow(keep_resume=True)
        await self._start(trigger.flow, trigger.version_id, captured)

    # ── starting and running ───────────────────────────────────────────────────────────
    async def _start_by_id(self, flow_id: str, captured: dict) -> bool:
        version_id = self.current.get(flow_id)
        flow = await self.rt.flow(self.turn.session, version_id)
        if flow is None:
            return False
        await self._start(flow, version_id, captured)
        return True

    async def _start(self, flow: Flow, version_id: int, captured: dict, prefill: bool = True) -> None:
        self.flow, self.flow_id, self.version_id = flow, flow.id, version_id
        self.slots, self.state["labels"] = {}, {}
        self.state.pop("result", None)
        if prefill:
            self._prefill(flow)
        for name, value in captured.items():
            if name in flow.slots and value not in (None, ""):
                self.slots[name] = value
        await self._run(flow.steps[0].id)

    def _prefill(self, flow: Flow) -> None:
        for name, slot in flow.slots.items():
            if slot.type in ENTITY_TYPES and slot.prefill:
                for e in self.entities:
                    if e["entity"] == slot.type:
                        self._fill(name, Parsed(e.get("value"), self._surface(e)))
                        break

    def _next_of(self, step) -> str | None:
        return step.next or self.flow.after(step.id)

    async def _run(self, step_id: str | None, reask: bool = False) -> None:
        budget = MAX_STEPS_PER_TURN
        while True:
            while step_id is not None:
                budget -= 1
                if budget < 0:
                    log.error("flow %s loops without asking anything; stopped at step %s", self.flow_id, step_id)
                    self.turn.say(phrase(self.locale, "broken"), [Button(phrase(self.locale, "human"), HUMAN_PAYLOAD)])
                    self._clear_flow()
                    self.stack = []
                    return
                step = self.flow.step(step_id)
                self.step_id = step_id
                if step.if_ is not None and not self._condition(step.if_):
                    step_id = self.flow.after(step_id)
                    continue
                if isinstance(step, AskStep):
                    slot = step.ask.slot
                    if not reask and not step.ask.always_ask and self.slots.get(slot) not in (None, ""):
                        step_id = self._next_of(step)
                        continue
                    self._ask(step, retry=False)
                    return
                reask = False
                step_id = await self._do(step)
            if not self.stack:
                break
            frame = self.stack.pop()
            callee_slots = dict(self.slots)
            self._restore(frame)
            self.flow = await self.rt.flow(self.turn.session, self.version_id)
            self.state["result"] = callee_slots
            step_id = frame.get("step")
            if self.flow is None:
                break
        self._finish()

    def _reached(self, step) -> None:
        self.turn.step = f"{self.flow_id}:{step.id}"  # what it says is stored with its step
        if self.rt.observer is not None:
            self.rt.observer.step_reached(self.flow_id, step.id)

    async def _do(self, step) -> str | None:
        self._reached(step)
        if isinstance(step, SayStep):
            buttons = [Button(self._render(localized(b.title, self.locale)), b.payload) for b in step.buttons]
            self.turn.say(self._render(localized(step.say, self.locale)), buttons)
        elif isinstance(step, BranchStep):
            for case in step.branch:
                if case.else_ is not None:
                    return case.else_
                if self._condition(case.if_):
                    return case.goto
        elif isinstance(step, ActionStep):
            await self._action(step.action, step.args, step.save)
        elif isinstance(step, HandoffStep):
            await self._handoff(step)
        elif isinstance(step, CallStep):
            version_id = self.current.get(step.call)
            callee = await self.rt.flow(self.turn.session, version_id)
            if callee is None:
                log.error("flow %s calls %s, which is not published", self.flow_id, step.call)
                return self._next_of(step)
            self.stack.append({**self._frame(), "step": self._next_of(step)})
            self.flow, self.flow_id, self.version_id = callee, callee.id, version_id
            self.slots, self.state["labels"] = {}, {}
            return callee.steps[0].id
        elif isinstance(step, GotoStep):
            return step.goto
        elif isinstance(step, EndStep):
            return None
        return self._next_of(step)

    def _finish(self) -> None:
        held = self.state.get("held") if self.flow_id == SAFETY_FLOW else None
        safe = held is not None and self.slots.get("safe") == "safe"
        self._clear_flow(keep_resume=True)
        if safe:
            self.carry_on = held  # handle() goes on with it
            return
        if held and held.get("frame"):
            self.state["resume"] = held["frame"]
        self._offer_resume()

    # ── frames ─────────────────────────────────────────────────────────────────────────
    def _frame(self) -> dict:
        return {
            "flow_id": self.flow_id, "version_id": self.version_id, "step": self.step_id,
            "slots": dict(self.slots), "labels": dict(self.state.get("labels") or {}),
            "result": self.state.get("result"), "stack": list(self.stack),
            "choices": self.state.get("choices"),
        }

    def _restore(self, frame: dict) -> None:
        self.flow_id, self.version_id, self.step_id = frame["flow_id"], frame["version_id"], frame.get("step")
        self.slots = dict(frame.get("slots") or {})
        self.state["labels"] = dict(frame.get("labels") or {})
        self.state["result"] = frame.get("result")
        if "stack" in frame:
            self.stack = list(frame.get("stack") or [])
        if frame.get("choices"):
            self.state["choices"] = frame["choices"]

    def _clear_flow(self, keep_resume: bool = False) -> None:
        if self.flow_id and self.rt.observer is not None:
            self.rt.observer.flow_ended(self.flow_id, dict(self.slots))
        self.turn.step = ""
        self.flow = None
        self.flow_id = self.version_id = self.step_id = None
        self.slots = {}
        self.stack = []
        for key in ("waiting", "attempts", "labels", "choices", "result", "held"):
            self.state.pop(key, None)
        if not keep_resume:
            self.state.pop("resume", None)


def _intent_given_safe(parse: dict) -> tuple[str, float]:
    """The person said they are safe, so the reading "emergency" is ruled out: the best other
    intent with its confidence among the others (as the parser does when emergency came first).
    "我儿子学费太高，我撑不下去了" is a need once the person is safe, even if the model gave the
    emergency reading a fifth of its weight."""
    intent = parse.get("intent") or {}
    ranking = parse.get("intent_ranking") or []
    p_emergency = next((float(r.get("confidence") or 0.0) for r in ranking if r.get("name") == "emergency"), 0.0)
    others = [r for r in ranking if r.get("name") not in ("emergency", "nlu_fallback")]
    if not others:
        return intent.get("name") or "", float(intent.get("confidence") or 0.0)
    best = others[0]
    return best["name"], min(float(best.get("confidence") or 0.0) / max(1.0 - p_emergency, 1e-9), 1.0)
