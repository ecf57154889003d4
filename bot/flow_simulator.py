"""The flow editor's simulator: a draft flow run through the real dispatcher, flow engine and
NLU, each turn inside one database transaction that is rolled back, so nothing is stored and
nobody is messaged.

    sim = FlowSimulator(services)
    out = await sim.turn(SimRequest(flow_id="need_request", yaml=draft, text="我家房子漏雨",
                                    state=previous["state"], persona=Persona(village="v1")))
    out["replies"]  # each as Telegram and as WeChat would show it
    out["events"]   # what would have happened: case opened, enrollment, handoff, timers, messages to others
    out["slots"], out["state"]   # the state goes back with the next turn (the page keeps it)

In the transaction: the draft is saved and published (so the engine runs it, and flows that
`call:` it get it too), a scratch person is made from the persona (village, language, consent,
an open case), the conversation row is set from the state the page sent, and the message goes
through `Dispatcher.run_turn` as a channel's would, on a fresh `FlowRuntime` whose public
`RunObserver` notes the steps run and the slots of flows that end. What the turn wrote (new
rows in the tables below, changes to the person) becomes the event log; then everything is
rolled back.
The draft's version id differs between turns, so the state the page keeps names it "draft".

Not simulated: work done after a commit (the outbox sender, timers firing) and files on disk
(the erase flow's media clean-up would run on the scratch person, who has none).
"""
from __future__ import annotations

import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from bot.channels.base import render_numbered
from bot.dispatcher import Dispatcher
from bot.errors import BotError
from bot.textclean import clean_text
from flows.runtime import FlowRuntime, RunObserver
from flows.validate import parse_flow
from storage import cases as case_service
from storage import flow_store, people
from storage.areas import get_by_code
from storage.models import (
    Activity,
    Area,
    AuditEntry,
    CaseEvent,
    Conversation,
    Enrollment,
    Handoff,
    NeedRequest,
    OutboxMessage,
    Person,
    Timer,
)
from vocab.messages import Inbound

__all__ = ["DRAFT", "Persona", "SimRequest", "SimulationError", "FlowSimulator"]

DRAFT = "draft"  # the draft's version id in the state the page keeps
CHANNEL = "simulator"
START = "/simulate"  # the payload of the turn that places the person at a step
WATCHED = (NeedRequest, CaseEvent, Enrollment, Handoff, Timer, OutboxMessage, AuditEntry)
PERSON_FIELDS = ("locale", "village_id", "consent_given", "opted_out", "phone", "erased")
TELEGRAM_BUTTON_CHARS = 64


class SimulationError(BotError, ValueError):
    """The draft does not load (`errors` lists file:line:column problems) or the request is wrong."""

    def __init__(self, message: str, errors: list[str] | None = None):
        super().__init__(message)
        self.errors = errors or []


@dataclass
class Persona:
    village: str = ""  # an area code; "" = no village known
    locale: str = "zh"
    consented: bool = True
    open_case: bool = False


@dataclass
class SimRequest:
    flow_id: str
    yaml: str
    text: str = ""
    payload: str = ""
    state: dict | None = None  # None or {} (with start): a new conversation
    start: bool = False  # place the person at `step` (default the first) with `slots`, then run
    step: str | None = None
    slots: dict[str, Any] = field(default_factory=dict)
    persona: Persona = field(default_factory=Persona)
    sender: str = ""  # stable per page, so the dispatcher's lanes keep a page's turns in order


class _Transaction:
    """`services.db` for the dispatcher: every `session()` is the simulator's open one."""

    def __init__(self, session, real_db):
        self._session = session
        self.is_sqlite = real_db.is_sqlite
        self.url = real_db.url

    @asynccontextmanager
    async def session(self):
        yield self._session

    turn = session  # the dispatcher's turn runs in it too


class _Services:
    """The application's services, with the database replaced by the simulator's transaction."""

    def __init__(self, services, session):
        self._services = services
        self.db = _Transaction(session, services.db)

    def __getattr__(self, name: str):
        return getattr(self._services, name)


def _swap_versions(value: Any, old: Any, new: Any) -> Any:
    """The conversation's JSON with every version id `old` (under version_id/flow_version_id) as `new`."""
    if isinstance(value, dict):
        return {k: (new if k in ("version_id", "flow_version_id") and v == old else _swap_versions(v, old, new))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_swap_versions(v, old, new) for v in value]
    return value


def _mask(phone: str) -> str:
    digits = "".join(ch for ch in str(phone or "") if ch.isdigit())
    return digits[:3] + "****" + digits[-4:] if len(digits) >= 7 else "*" * len(digits)


class _Trace(RunObserver):
    """The engine's public observer: the steps it runs and the slots a flow had when it ended
    (the engine clears them then; the slot panel still shows them)."""

    def __init__(self):
        self.path: list[tuple[str, str]] = []
        self.ended: list[dict] = []

    def step_reached(self, flow_id: str, step_id: str) -> None:
        self.path.append((flow_id, step_id))

    def flow_ended(self, flow_id: str, slots: dict) -> None:
        self.ended.append({"flow": flow_id, "slots": slots})


class FlowSimulator:
    def __init__(self, services):
        self.services = services

    def _registry(self):
        handler = getattr(self.services, "handler", None)
        return handler.registry if isinstance(handler, FlowRuntime) else None

    async def turn(self, req: SimRequest) -> dict:
        flow, errors = parse_flow(req.yaml, f"{req.flow_id}.yaml", self._registry())
        if errors:
            raise SimulationError("the draft has errors", [str(e) for e in errors])
        if req.start and req.step and flow.step(req.step) is None:
            raise SimulationError(f"the flow has no step '{req.step}'")
        unknown = sorted(set(req.slots) - set(flow.slots))
        if unknown:
            raise SimulationError(f"the flow has no slot {', '.join(unknown)}")
        if not req.start and not (req.text or req.payload):
            raise SimulationError("say something, or start the flow")
        sender = req.sender or uuid.uuid4().hex
        text = "" if req.start else req.text
        cleaned = clean_text(text, self.services.settings.max_message_chars)
        understood = Dispatcher(self.services).understand(cleaned.text)  # before the transaction: no lock held
        async with self.services.db.sessions() as session:
            await session.begin()
            try:
                return await self._turn(session, req, flow, sender, cleaned, understood)
            finally:
                await session.rollback()

    async def _turn(self, session, req: SimRequest, flow, sender: str, cleaned, understood) -> dict:
        now = self.services.clock()
        draft = await flow_store.save_version(session, req.flow_id, req.yaml, created_by="simulator")
        await flow_store.publish(session, req.flow_id, draft.id, by="simulator", now=now)
        person = await self._persona(session, sender, req.persona, now)
        conv = (await session.execute(select(Conversation).where(Conversation.person_id == person.id))).scalar_one()
        if req.start:
            conv.flow_id, conv.flow_version_id = req.flow_id, draft.id
            conv.step = req.step or flow.steps[0].id
            conv.slots, conv.stack, conv.mode = dict(req.slots), [], "bot"
            conv.state = {"seen": True, "labels": {}}
        elif req.state:
            state = _swap_versions(req.state, DRAFT, draft.id)
            conv.flow_id, conv.flow_version_id = state.get("flow_id"), state.get("flow_version_id")
            conv.step, conv.slots = state.get("step"), state.get("slots") or {}
            conv.stack, conv.state = state.get("stack") or [], state.get("state") or {}
            conv.mode = state.get("mode") or "bot"
        await session.flush()
        before = {m: (await session.execute(select(func.coalesce(func.max(m.id), 0)))).scalar_one() for m in WATCHED}
        person_before = {f: getattr(person, f) for f in PERSON_FIELDS}

        trace = _Trace()
        runtime = FlowRuntime(registry=self._registry(), observer=trace)  # fresh: version ids made here are not reused
        dispatcher = Dispatcher(_Services(self.services, session), handler=runtime)
        payload = START if req.start else req.payload
        parse, _ = understood
        inbound = Inbound(channel=CHANNEL, sender=sender, text=cleaned.text, payload=payload,
                          message_id=uuid.uuid4().hex, locale_hint=req.persona.locale)
        outs = await dispatcher.run_turn(inbound, cleaned, understood)
        await session.flush()

        conv = (await session.execute(select(Conversation).where(Conversation.person_id == person.id)
                                      .execution_options(populate_existing=True))).scalar_one()
        await session.refresh(person)
        locale = person.locale or "zh"
        state = _swap_versions({"flow_id": conv.flow_id, "flow_version_id": conv.flow_version_id, "step": conv.step,
                                "slots": conv.slots or {}, "stack": conv.stack or [], "state": conv.state or {},
                                "mode": conv.mode}, draft.id, DRAFT)
        ended = trace.ended
        if conv.flow_id:  # the slots of the flow running now, else of the flow that just ended
            slots, slots_flow = dict(conv.slots or {}), conv.flow_id
        elif ended:
            slots, slots_flow = ended[-1]["slots"], ended[-1]["flow"]
        else:
            slots, slots_flow = {}, None
        return {
            "replies": [self._rendered(o.text, list(o.buttons), locale) for o in outs],
            "events": await self._events(session, before, person, person_before, sender),
            "slots": slots, "slots_flow": slots_flow,
            "path": [sid for fid, sid in trace.path if fid == req.flow_id],
            "ended": any(e["flow"] == req.flow_id for e in ended) and conv.flow_id != req.flow_id,
            "flow": conv.flow_id, "step": conv.step, "state": state,
            "intent": (parse.get("intent") or {}).get("name"),
            "entities": [{"entity": e.get("entity"), "value": e.get("value")} for e in parse.get("entities") or []],
            "sender": sender,
        }

    @staticmethod
    def _rendered(text: str, buttons: list, locale: str) -> dict:
        return {
            "text": text,
            "buttons": [{"title": b.title, "payload": b.payload} for b in buttons],
            "telegram": {"text": text, "buttons": [b.title[:TELEGRAM_BUTTON_CHARS] for b in buttons]},
            "wechat": {"text": render_numbered(text, buttons, locale)},
        }

    async def _persona(self, session, sender: str, persona: Persona, now) -> Person:
        person, _, _ = await people.find_or_create_by_identity(
            session, CHANNEL, sender, "模拟村民", persona.locale if persona.locale in ("zh", "en") else "zh", now=now)
        await session.flush()
        if persona.village:
            area = await get_by_code(session, persona.village)
            if area is None:
                raise SimulationError(f"unknown village code '{persona.village}'")
            person.village_id = area.id
        person.locale = persona.locale if persona.locale in ("zh", "en") else "zh"
        if persona.consented:
            person.consent_given, person.consent_at, person.phone = True, now, "13800000000"
        if persona.open_case:
            await case_service.open_case(session, person_id=person.id, category="other",
                                         description="模拟的未结案件 / a simulated open case",
                                         village_id=person.village_id, phone=person.phone, now=now)
        await session.flush()
        return person

    async def _events(self, session, before: dict, person: Person, person_before: dict, sender: str) -> list[dict]:
        async def new(model):
            rows = await session.execute(select(model).where(model.id > before[model]).order_by(model.id))
            return list(rows.scalars())

        events: list[dict] = []
        for case in await new(NeedRequest):
            village = await session.get(Area, case.village_id) if case.village_id else None
            events.append({"kind": "case_opened", "text": f"案件 {case.number}：{case.category}（{case.urgency}）",
                           "data": {"number": case.number, "category": case.category, "urgency": case.urgency,
                                    "affected": case.affected, "description": case.description,
                                    "village": village.name if village else None, "phone": _mask(case.phone)}})
        for ev in await new(CaseEvent):
            if ev.kind != "created":
                events.append({"kind": "case_event", "text": f"{ev.kind}: {ev.text}", "data": ev.data or {}})
        for enr in await new(Enrollment):
            activity = await session.get(Activity, enr.activity_id)
            what = "候补 waitlisted" if enr.status == "waitlisted" else enr.status
            events.append({"kind": "enrollment", "text": f"报名「{activity.title if activity else enr.activity_id}」：{what}",
                           "data": {"status": enr.status, "waitlist_position": enr.waitlist_position,
                                    "participant": enr.participant_name}})
        for h in await new(Handoff):
            events.append({"kind": "handoff", "text": f"转人工（{h.priority}）：{h.summary}",
                           "data": {"reason": h.reason, "priority": h.priority, "summary": h.summary}})
        for t in await new(Timer):
            events.append({"kind": "timer", "text": f"定时 {t.kind} @ {t.due_at.isoformat()}",
                           "data": {"kind": t.kind, "due_at": t.due_at.isoformat(), "target": t.target}})
        for o in await new(OutboxMessage):
            if o.channel == CHANNEL and o.recipient == sender:
                continue  # the replies themselves
            events.append({"kind": "message", "text": f"发给 {o.channel}:{_mask(o.recipient) if o.recipient.isdigit() else o.recipient}（{o.kind}）：{o.text}",
                           "data": {"channel": o.channel, "kind": o.kind, "text": o.text}})
        for a in await new(AuditEntry):
            if not a.action.startswith("flow."):
                events.append({"kind": "audit", "text": a.action, "data": {"target": a.target}})
        changed = {f: getattr(person, f) for f in PERSON_FIELDS if getattr(person, f) != person_before[f]}
        if changed:
            shown = {k: (_mask(v) if k == "phone" else v) for k, v in changed.items()}
            events.append({"kind": "person", "text": "村民资料变更 person changed: "
                                                      + ", ".join(f"{k}={v}" for k, v in shown.items()), "data": shown})
        conv_mode = (await session.execute(select(Conversation.mode).where(Conversation.person_id == person.id))).scalar_one()
        if conv_mode == "human":
            events.append({"kind": "mode", "text": "对话转为人工模式 conversation in human mode", "data": {}})
        return events
