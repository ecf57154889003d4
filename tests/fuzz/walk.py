"""The conversation fuzzer: seeded random walks of simulated villagers through the real REST
channel entry (`bot.channels.rest.handle_webhook`, the webhook without HTTP), the dispatcher,
the flow runtime, the NLU and the mission actions, on a demo-seeded database.

Invariants checked after every turn (issue 12):

    silence          at least one reply — except while a worker has claimed the person's
                     handoff (human mode relays) and for a repeated delivery
    apology          no apology: the texts the pipeline sends when a turn raises
                     (bot.dispatcher "apology") or a flow is broken (flows.runtime "broken")
    choice_refused   a shown choice answered by its number, title or payload is taken: the
                     bot does not re-ask it, run the flow `fallback` or say "not understood"
    bad_state        the conversation's flow and step (and its call stack's) exist in the
                     flow version the conversation is pinned to
    repeat_mismatch  a repeated delivery gets the replies stored for the first one
    exception        the webhook raised, or answered something other than 200
"""
from __future__ import annotations

import json
import random
import time
import traceback
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import select

from bot.channels.rest import RestAdapter, handle_webhook
from bot.dispatcher import TEXTS as DISPATCH_TEXTS
from flows.texts import TEXTS as FLOW_TEXTS
from flows.model import Flow
from flows.validate import load_flow
from storage import handoffs
from storage.models import Area, ChannelIdentity, Conversation, FlowVersion, Handoff, Staff
from tests.fuzz import inputs

APOLOGIES = {t[k] for t in (*DISPATCH_TEXTS.values(), *FLOW_TEXTS.values()) for k in ("apology", "broken") if k in t}
NOT_UNDERSTOOD = {t[k] for t in FLOW_TEXTS.values() for k in ("not_understood", "fallback")}


@dataclass
class Turn:
    kind: str  # what was drawn: utterance, affirm, button:title, repeat, …
    text: str
    replies: list[dict]
    before: tuple[str | None, str | None]  # (flow, step) when the message arrived
    after: tuple[str | None, str | None]
    worker: str = ""  # a worker's action just before this turn (claim / close), not in the YAML


@dataclass
class Violation:
    kind: str
    detail: str
    walk: int
    database: str
    locale: str
    turns: list[Turn]  # the walk up to and including the failing turn
    tag: str = ""  # tells apart violations at one step: for choice_refused, the answer's form

    @property
    def where(self) -> tuple[str | None, str | None]:
        return self.turns[-1].before

    @property
    def key(self) -> tuple:
        return (self.kind, *self.where, self.tag)


@dataclass
class Report:
    database: str
    seed: int
    walks: int = 0
    turns: int = 0
    seconds: float = 0.0
    steps: set = field(default_factory=set)  # (flow, step) pairs the runtime went through
    all_steps: set = field(default_factory=set)  # every (flow, step) of the published flows
    violations: list[Violation] = field(default_factory=list)

    @property
    def flows(self) -> set:
        return {f for f, _ in self.steps}

    @property
    def all_flows(self) -> set:
        return {f for f, _ in self.all_steps}

    def by_kind(self) -> Counter:
        return Counter(v.kind for v in self.violations)

    def distinct(self) -> list[Violation]:
        return distinct(self.violations)

    def summary(self) -> str:
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.by_kind().items())) or "none"
        lines = [
            f"fuzz {self.database} seed {self.seed}: {self.walks} walks, {self.turns} turns in {self.seconds:.1f} s; "
            f"flows reached {len(self.flows)}/{len(self.all_flows)}, "
            f"(flow, step) pairs {len(self.steps)}/{len(self.all_steps)}; "
            f"violations {len(self.violations)} ({kinds})",
        ]
        missed = sorted(self.all_flows - self.flows)
        if missed:
            lines.append(f"  flows not reached: {', '.join(missed)}")
        seen = set()
        for v in self.violations:
            if v.kind not in seen:
                seen.add(v.kind)
                lines.append(f"  e.g. {v.kind} (walk {v.walk}, turn {len(v.turns)}, at {_at(v.where)}): {v.detail}")
        return "\n".join(lines)


def distinct(violations: list[Violation]) -> list[Violation]:
    """One violation per (kind, flow, step, tag): the one with the shortest walk."""
    best: dict[tuple, Violation] = {}
    for v in violations:
        if v.key not in best or len(v.turns) < len(best[v.key].turns):
            best[v.key] = v
    return sorted(best.values(), key=lambda v: tuple(str(k) for k in v.key))


def describe(violations: list[Violation]) -> str:
    """One line per distinct violation."""
    return "\n".join(f"  {v.kind:15} {_at(v.where):32} {v.tag:8} {v.detail}" for v in violations)


def _at(where: tuple) -> str:
    return "/".join(str(x) for x in where) if where[0] else "no flow"


def _short(text: str, n: int = 60) -> str:
    text = text.replace("\n", " ")
    return text if len(text) <= n else text[:n] + "…"


class Fuzzer:
    """Random walks over one running `ConversationRunner` (demo data, built-in flows)."""

    def __init__(self, runner, *, seed: int, walks: int, database: str = "", turns: tuple[int, int] = (6, 16),
                 english_share: float = 0.25, answer_share: float = 0.5):
        self.runner = runner
        self.services = runner.services
        if self.services.channels.get("rest") is None:
            self.services.channels.register(RestAdapter())
        self.seed = seed
        self.walks = walks
        self.turn_range = turns
        self.english_share = english_share
        self.answer_share = answer_share  # how often a walk answers the buttons just shown
        self.report = Report(database=database, seed=seed)
        self._steps_of: dict[int, set | None] = {}
        self._staff_id: int | None = None
        self._villages: list[str] = []  # the demo villages' names, in both languages
        self._turn_steps: set = set()  # (flow, step) pairs the runtime went through this turn

    async def run(self) -> Report:
        started = time.perf_counter()
        async with self.services.db.session() as session:
            for version in (await session.execute(select(FlowVersion))).scalars():
                flow = load_flow(version.yaml, f"{version.flow_id}.yaml", self.services.handler.registry)
                self.report.all_steps.update((flow.id, s.id) for s in flow.steps)
            self._staff_id = (await session.execute(select(Staff.id).order_by(Staff.id).limit(1))).scalar()
            rows = await session.execute(select(Area.name, Area.name_en).where(Area.level == "village").order_by(Area.id))
            self._villages = [n for row in rows for n in row if n]
        with _recording_steps(self._turn_steps):
            for i in range(self.walks):
                await self.walk(i)
                self.report.walks += 1
        self.report.seconds = time.perf_counter() - started
        return self.report

    # one villager ----------------------------------------------------------------------
    async def walk(self, index: int) -> None:
        rng = random.Random(f"{self.seed}:{index}")
        locale = "en" if rng.random() < self.english_share else "zh"
        sender = f"fuzz-{self.seed}-{index}"
        turns: list[Turn] = []
        shown: list[dict] = []  # the buttons of the last reply that had any
        seen_payloads: list[str] = []
        state = _State()
        last: tuple[str, str, list] | None = None  # (message id, text, replies) for a repeat
        for n in range(rng.randint(*self.turn_range)):
            worker = await self._worker(rng, state)
            relayed = state.relayed_before
            answered: int | None = None
            if last is not None and rng.random() < 0.04:
                kind, (message_id, text) = "repeat", last[:2]
            else:
                message_id = f"{sender}-{n}"
                if shown and rng.random() < self.answer_share:
                    form, text, answered = inputs.button_answer(rng, shown)
                    kind = f"button:{form}"
                else:
                    kind, text = inputs.free_message(rng, locale, seen_payloads, self._villages)
            before = state.where
            self._turn_steps.clear()
            problem, replies = await self._send(sender, locale, text, message_id)
            self.report.turns += 1
            self.report.steps |= self._turn_steps
            if problem is None:
                state = await self._read(sender)
            turn = Turn(kind, text, replies or [], before, state.where, worker)
            turns.append(turn)
            problems = [problem] if problem else self._check(turn, state, shown, answered, last, relayed)
            for kind_, detail in problems:
                tag = kind.split(":")[1] if kind_ == "choice_refused" else ""
                self.report.violations.append(
                    Violation(kind_, detail, index, self.report.database, locale, list(turns), tag))
            if problem:
                return  # the pipeline raised: the rest of this walk would say nothing new
            if kind != "repeat":
                last = (message_id, text, turn.replies)
            with_buttons = [r for r in turn.replies if r.get("buttons")]
            if with_buttons:
                shown = with_buttons[-1]["buttons"]
                seen_payloads.extend(b["payload"] for b in shown)
            elif turn.replies:
                shown = []

    async def _send(self, sender: str, locale: str, text: str, message_id: str):
        body = {"sender": sender, "message": text, "metadata": {"message_id": message_id, "locale": locale}}
        try:
            status, out = await handle_webhook(self.services, json.dumps(body, ensure_ascii=False).encode(), "")
        except Exception as exc:
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            return ("exception", f"{_short(text)!r} raised {tb}"), []
        if status != 200:
            return ("exception", f"{_short(text)!r} got HTTP {status}: {out}"), []
        return None, out

    # invariants ------------------------------------------------------------------------
    def _check(self, turn: Turn, state: "_State", shown: list[dict], answered: int | None,
               last: tuple | None, relayed: bool) -> list[tuple[str, str]]:
        problems = []
        texts = [r.get("text", "") for r in turn.replies]
        said = _short(turn.text) if turn.text.strip() else "(empty)"
        if turn.kind == "repeat":
            if last is not None and turn.replies != last[2]:
                first = [r.get("text") for r in last[2]]
                problems.append(("repeat_mismatch", f"repeated {said!r} got {texts}, the first time {first}"))
        elif not turn.replies and not relayed:
            problems.append(("silence", f"{said!r} at {_at(turn.before)} got no reply"))
        apologies = [t for t in texts if t in APOLOGIES]
        if apologies:
            problems.append(("apology", f"{said!r} at {_at(turn.before)} got {_short(apologies[0], 40)!r}"))
        if answered is not None:
            button = shown[answered]
            refused = [t for t in texts if t in NOT_UNDERSTOOD]
            fell_back = any(flow == "fallback" for flow, _ in self._turn_steps)
            if state.attempts > 0 or refused or fell_back:
                how = turn.kind.split(":")[1]
                got = refused[0] if refused else (texts[-1] if texts else "nothing")
                problems.append(("choice_refused", f"choice {button['title']!r} ({button['payload']}) answered by "
                                                   f"its {how} {said!r} at {_at(turn.before)}: got {_short(got)!r}"))
        problems.extend(("bad_state", p) for p in state.bad)
        return problems

    async def _read(self, sender: str) -> "_State":
        async with self.services.db.session() as session:
            person_id = (await session.execute(select(ChannelIdentity.person_id).where(
                ChannelIdentity.channel == "rest", ChannelIdentity.external_id == sender))).scalar()
            conv = (await session.execute(select(Conversation).where(Conversation.person_id == person_id))).scalar()
            if conv is None:
                return _State(person_id=person_id)
            claimed = (await session.execute(select(Handoff.id).where(
                Handoff.person_id == person_id, Handoff.status == "claimed",
                Handoff.claimed_by_staff_id.is_not(None)).limit(1))).scalar() is not None
            state = _State(person_id=person_id, where=(conv.flow_id, conv.step), mode=conv.mode, claimed=claimed,
                           attempts=int((conv.state or {}).get("attempts") or 0))
            frames = [("conversation", conv.flow_id, conv.flow_version_id, conv.step)] if conv.flow_id else []
            frames += [("stack", f.get("flow_id"), f.get("version_id"), f.get("step"))
                       for f in conv.stack or [] if isinstance(f, dict)]
            for where, flow_id, version_id, step in frames:
                problem = await self._pinned(session, flow_id, version_id, step)
                if problem:
                    state.bad.append(f"{where} at {flow_id}/{step}: {problem}")
        return state

    async def _pinned(self, session, flow_id, version_id, step) -> str | None:
        if version_id is None:
            return "no flow version pinned"
        if version_id not in self._steps_of:
            version = await session.get(FlowVersion, version_id)
            steps = None
            if version is not None and version.flow_id == flow_id:
                flow = load_flow(version.yaml, f"{flow_id}.yaml", self.runner.services.handler.registry)
                steps = {s.id for s in flow.steps}
            self._steps_of[version_id] = steps
        steps = self._steps_of[version_id]
        if steps is None:
            return f"version {version_id} is not a version of {flow_id}"
        if step not in steps:
            return f"step {step!r} is not in version {version_id}"
        return None

    async def _worker(self, rng: random.Random, state: "_State") -> str:
        """While the person waits in human mode, a worker sometimes claims or closes the handoff."""
        if state.mode != "human" or state.person_id is None or self._staff_id is None:
            state.relayed_before = False
            return ""
        event = ""
        async with self.services.db.session() as session:
            handoff = await handoffs.open_handoff_for(session, state.person_id)
            if handoff is not None and handoff.status == "waiting" and rng.random() < 0.4:
                if await handoffs.claim_handoff(session, handoff.id, self._staff_id, now=self.runner.now):
                    event, state.claimed = "claim", True
            elif handoff is not None and handoff.status == "claimed" and rng.random() < 0.2:
                await handoffs.close_handoff(session, handoff, by_staff_id=self._staff_id, now=self.runner.now)
                event, state.claimed, state.mode = "close", False, "bot"
        state.relayed_before = state.mode == "human" and state.claimed
        return event


@contextmanager
def _recording_steps(reached: set):
    """Every step the flow runtime looks up while the walks run, as (flow, step) pairs: also
    the steps of flows that start and end within one turn (fallback, menu)."""
    original = Flow.step

    def step(self, step_id):
        found = original(self, step_id)
        if found is not None:
            reached.add((self.id, step_id))
        return found

    Flow.step = step
    try:
        yield
    finally:
        Flow.step = original


@dataclass
class _State:
    person_id: int | None = None
    where: tuple = (None, None)
    mode: str = "bot"
    claimed: bool = False
    attempts: int = 0
    bad: list = field(default_factory=list)
    relayed_before: bool = False  # the turn arrives in human mode with a claimed handoff
