"""The conversation pipeline: one inbound message in, its replies out (DESIGN.md "One message,
end to end", steps 1–9).

    clean text ─▶ NLU + emergency ─▶ per-person lane ─▶ one transaction:
        person + identity ─▶ conversation row (FOR UPDATE on PostgreSQL) ─▶ inbound message
        (a repeated delivery stops here and gets the stored replies) ─▶ a staff member's
        messenger? the desk (bot/desk) : human mode? relay : a rating after a handoff? kept
        : handler (flow engine) ─▶ outbound messages + outbox rows ─▶ commit ─▶ wake sender

A person's messages are handled one at a time: in this process by a FIFO lane per sender
(bounded; a flood past `settings.person_queue_limit` gets a polite "slow down" and is not
processed), across processes by the conversation row lock. Waiting in a lane holds no database
connection. At most `settings.max_turns` turns run at once (bot/turn_gate.py): the NLU parse
and the transaction wait in line behind that cap, in order of arrival. A caller that can be
answered "retry later" (the REST webhook) asks `handle(…, refuse_when_behind=True)`: when a new
message would wait longer than `settings.max_queue_seconds`, it raises `Overloaded` before
anything is parsed or stored — the message was not accepted, and its sender sends it again. A
message let into the line is handled and answered however long it waits.

An exception in the handler rolls its work back and the message gets an apology; a database
that does not answer raises `DatabaseUnavailable` (the REST channel answers 503). A turn that
PostgreSQL rolls back to break a deadlock (40P01) runs once more from the start: nothing of
the first run was stored or sent. Every path locks a person's rows in one order, the
conversation row first (docs/performance.md, "Row lock order"), so it should not happen.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any, Awaitable, Callable


from bot.desk import relay as desk_relay
from bot.errors import BotError
from bot.channels.base import choice_payload
from bot.location import add_village_entity
from vocab.messages import Button, Inbound, Outbound
from storage.db import is_db_unavailable, is_deadlock
from vocab.errors import DatabaseUnavailable
from bot.outbox import outbound_from_row
from bot.textclean import Cleaned, clean_text
from bot.turn_gate import TurnGate
from flows.turn import Reply, Turn, TurnHandler, echoed_payload
from flows.answers import pick_number, pick_title
from nlu.emergency import detect
from storage import messages as message_store
from storage import outbox as outbox_store
from storage import people, turns

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["Dispatcher", "Overloaded", "PersonLanes", "relay_to_worker"]

log = logging.getLogger("xiangzhu.dispatcher")

TEXTS = {
    "zh": {
        "apology": "抱歉，出了点问题，我们已经记录。请稍后再试，或回复“人工”找社工。",
        "busy": "消息太多了，请稍等一下再发。",
        "empty": "没有收到文字。请直接说您要办的事，或回复“帮助”。",
        "truncated": "您的消息太长，我只读了前 {n} 个字。",
    },
    "en": {
        "apology": "Sorry, something went wrong and we have logged it. Please try again later, or reply \"human\".",
        "busy": "Too many messages at once. Please wait a moment before sending more.",
        "empty": "I received no text. Tell me what you need, or reply \"help\".",
        "truncated": "Your message was too long; I read only the first {n} characters.",
    },
}


class LaneFull(BotError):
    pass


class Overloaded(BotError):
    """The process is too far behind to take this message now (nothing was stored): the
    sender is to retry after `retry_after` seconds."""

    def __init__(self, expected_wait: float):
        super().__init__(f"turns queued: a new message would wait {expected_wait:.1f} s")
        self.retry_after = min(60, max(1, int(expected_wait + 0.999)))


class PersonLanes:
    """One FIFO lane per sender in this process, at most `limit` messages in it (waiting or
    running). Lanes disappear when empty."""

    def __init__(self, limit: int):
        self.limit = max(1, limit)
        self._lanes: dict[Any, list] = {}  # key -> [lock, count]

    @asynccontextmanager
    async def enter(self, key):
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = [asyncio.Lock(), 0]
        if lane[1] >= self.limit:
            raise LaneFull(key)
        lane[1] += 1
        try:
            async with lane[0]:
                yield
        finally:
            lane[1] -= 1
            if lane[1] == 0 and self._lanes.get(key) is lane:
                del self._lanes[key]

    def __len__(self) -> int:
        return len(self._lanes)


# ── human mode ───────────────────────────────────────────────────────────────────────────

RelayHook = Callable[[Turn, int], Awaitable[None]]


async def relay_to_worker(turn: Turn, inbound_message_id: int) -> None:
    """Default relay while the person's conversation is in human mode: the message is already
    stored; a claimed handoff sends it to the worker's messenger, a waiting one tells the
    villager it is queued (bot/desk/relay.py)."""
    await desk_relay.relay_to_worker(turn, inbound_message_id)


# ── the dispatcher ───────────────────────────────────────────────────────────────────────


# stands for "any list of choices": does a text pick a numbered choice at all?
_ANY_CHOICES = [Button("", "any")] * 99

SHOWN = "shown"  # conversation.state: the choices of the last reply that had any, [[title, payload], …]


def _may_pick_choice(text: str) -> bool:
    """Could this text be a bare choice number ("2", "２", "②", "2.")?"""
    return bool(text) and len(text) <= 4 and bool(choice_payload(text, _ANY_CHOICES))


def _picked_choice(text: str, shown: list, in_flow: bool) -> str:
    """The payload of the shown choice a text picks, or "". In a flow, the flow reads its own
    answers (titles, yes/no words), so only a bare number counts here; with no flow running,
    a number in any form (2, 二, 第二个, 2号) or the whole title picks."""
    if not shown or not text:
        return ""
    buttons = [Button(title, payload) for title, payload in shown]
    if in_flow:
        return choice_payload(text, buttons) if _may_pick_choice(text) else ""
    i = pick_number(text, len(buttons))
    if i is None:
        i = pick_title(text, [b.title for b in buttons])
    return "" if i is None else buttons[i].payload


def remember_shown(conversation, replies: list[Reply]) -> None:
    """Keep the choices this turn showed last in the conversation (written with the turn), so
    the next message can answer them by number or title on any channel, after a restart too."""
    if not replies:
        return
    shown = next(([[b.title, b.payload] for b in r.buttons] for r in reversed(replies) if r.buttons), [])
    state = dict(conversation.state or {})
    if shown == state.get(SHOWN, []):
        return
    if shown:
        state[SHOWN] = shown
    else:
        state.pop(SHOWN, None)
    conversation.state = state


def _buttons_json(buttons) -> list[dict]:
    return [{"title": b.title, "payload": b.payload} for b in buttons]


class Dispatcher:
    def __init__(self, services: "Services", handler: TurnHandler | None = None):
        self.services = services
        self._handler = handler
        self.lanes = PersonLanes(services.settings.person_queue_limit)
        self.gate = TurnGate(services.settings.max_turns)

    @property
    def handler(self) -> TurnHandler:
        """The handler given to the constructor, else `services.handler` at call time."""
        return self._handler if self._handler is not None else self.services.handler

    # public ------------------------------------------------------------------------------

    async def handle(self, inbound: Inbound, *, refuse_when_behind: bool = False) -> list[Outbound]:
        """Handle one inbound message; returns the replies to the sender (also stored in the
        outbox). Raises DatabaseUnavailable when the database does not answer; with
        `refuse_when_behind`, Overloaded (nothing stored) when the turns queued here would
        keep this message waiting longer than `settings.max_queue_seconds`."""
        started = time.perf_counter()
        s = self.services
        gate = self.gate
        arrived = gate.clock()
        limit = s.settings.max_queue_seconds
        if refuse_when_behind and limit > 0 and gate.waiting:
            wait = gate.expected_wait()
            if wait > limit:
                s.metrics.refused(inbound.channel)
                raise Overloaded(wait)
        if not inbound.message_id:
            inbound = replace(inbound, message_id=uuid.uuid4().hex)
        try:
            async with self.lanes.enter((inbound.channel, inbound.sender)):
                await gate.enter(arrived)  # in line by arrival, the time in the lane counted
                try:
                    cleaned = clean_text(inbound.text, s.settings.max_message_chars)
                    parse, emergency = self.understand(cleaned.text)
                    replies = await self._handle_in_lane(inbound, cleaned, parse, emergency)
                finally:
                    gate.leave()
        except LaneFull:
            log.warning("sender %s:%s is flooding; message %s not processed",
                        inbound.channel, inbound.sender, inbound.message_id)
            replies = await self._busy(inbound)
        s.metrics.inbound(inbound.channel)
        s.metrics.observe_latency(time.perf_counter() - started)
        return replies

    async def run_turn(self, inbound: Inbound, cleaned: Cleaned, understood: tuple[dict, Any]) -> list[Outbound]:
        """One turn, without the per-sender lane, the apology on errors or the metrics: for a
        caller that holds its own transaction and handles failures itself (the flow editor's
        simulator). `cleaned` is `clean_text(inbound.text, …)`; `understood` is what
        `understand(cleaned.text)` returned (call it before opening a transaction: it holds no
        database lock)."""
        parse, emergency = understood
        return await self._turn(inbound, cleaned, parse, emergency)

    # steps -------------------------------------------------------------------------------

    def understand(self, text: str) -> tuple[dict, Any]:
        """The NLU's parse of a cleaned text and the emergency detector's verdict (None, or
        what it found)."""
        s = self.services
        now = s.clock()
        parse = s.nlu.parse(text, now) if text else {
            "text": "", "intent": {"name": "nlu_fallback", "confidence": 0.0}, "entities": [], "intent_ranking": []}
        emergency = None
        level = (parse.get("emergency") or {}).get("level")
        # the built-in NLU's parse already holds the default detector's verdict on this text
        # (nlu/parser.py): running the lexicon a second time would only cost time
        already = s.emergency_detector is detect and level is not None
        if s.emergency_detector is not None and text and not already:
            result = s.emergency_detector(text)
            if result is not None and getattr(result, "is_emergency", False):
                emergency = result
            elif getattr(result, "level", "") == "unsure" and level in (None, "none"):  # another NLU backend
                parse = {**parse, "emergency": {"level": "unsure", "kinds": list(result.kinds), "score": result.score}}
        if emergency is None and level == "certain":
            emergency = parse["emergency"]  # the classifier is sure where the lexicon is not
        if emergency is not None:
            top = {"name": "emergency", "confidence": 1.0}
            parse = {**parse, "intent": top, "intent_ranking": [top, *parse.get("intent_ranking", [])]}
        return parse, emergency

    async def _handle_in_lane(self, inbound: Inbound, cleaned: Cleaned, parse: dict, emergency) -> list[Outbound]:
        try:
            try:
                return await self._turn(inbound, cleaned, parse, emergency)
            except Exception as exc:
                if not is_deadlock(exc):
                    raise
                # PostgreSQL rolled the whole turn back (no reply was stored or sent; the outbox
                # is woken only after a commit): once more, from the start
                log.warning("message %s from %s:%s: deadlock, the turn runs again", inbound.message_id,
                            inbound.channel, inbound.sender)
                return await self._turn(inbound, cleaned, parse, emergency)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if is_db_unavailable(exc):
                log.error("database unavailable while handling message %s: %s", inbound.message_id, exc)
                raise DatabaseUnavailable(str(exc)) from exc
            self.services.metrics.handler_error()
            log.exception("handling message %s from %s:%s failed; sending an apology",
                          inbound.message_id, inbound.channel, inbound.sender,
                          extra={"message_id": inbound.message_id, "channel": inbound.channel})
        try:
            return await self._apologize(inbound, cleaned)
        except Exception as exc:
            if is_db_unavailable(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            raise

    @asynccontextmanager
    async def _transaction(self, turn: bool = False):
        """A session of `services.db` whose commit wakes the outbox sender when it wrote a
        row for it (and only then: a wake costs the sender a transaction and a claim).
        `turn`: `db.turn()`, whose ORM session is made only when asked for."""
        async with (self.services.db.turn() if turn else self.services.db.session()) as session:
            yield session
        if outbox_store.queued_for_sender(session):
            self.services.wake_outbox()

    async def _turn(self, inbound: Inbound, cleaned: Cleaned, parse: dict, emergency) -> list[Outbound]:
        s = self.services
        now = s.clock()
        async with self._transaction(turn=True) as session:
            begun = await turns.begin_turn(
                session, channel=inbound.channel, external_id=inbound.sender, display_name=inbound.display_name,
                locale=inbound.locale_hint if inbound.locale_hint in TEXTS else None, message_id=inbound.message_id,
                text=cleaned.text, attachments=[asdict(a) for a in inbound.attachments],
                intent=parse.get("intent", {}).get("name", ""), now=now,
            )
            if begun.message_id is None:
                return await self._stored(session, inbound)
            person, conversation = begun.person, begun.conversation
            locale = person.locale if person.locale in TEXTS else s.settings.default_locale
            texts = TEXTS.get(locale, TEXTS["zh"])
            replies: list[Reply] = []
            if cleaned.truncated:
                replies.append(Reply(texts["truncated"].format(n=s.settings.max_message_chars)))
            shown = (conversation.state or {}).get(SHOWN) if conversation.mode != "human" else None
            payload = (inbound.payload or echoed_payload(cleaned.text)
                       or _picked_choice(cleaned.text, shown, in_flow=conversation.flow_id is not None))
            if inbound.attachments:
                await add_village_entity(session, parse, inbound.attachments)
            turn = Turn(
                session=session, person=person, conversation=conversation, channel=inbound.channel,
                sender=inbound.sender, text=cleaned.text, parse=parse, now=now, locale=locale,
                payload=payload, attachments=inbound.attachments, emergency=emergency, services=s,
            )
            # only a messenger linked to a staff member can be a desk turn (read with the turn's row)
            staff_id = await desk_relay.staff_of_sender(turn) if begun.staff_id is not None else None
            if staff_id is not None and not (payload or "").startswith("/start w-"):
                turn.payload = inbound.payload or ""  # a worker's "2" is a message, not a shown choice
                await desk_relay.handle_worker_turn(turn, staff_id)  # a social worker's desk
            elif conversation.mode == "human":
                await s.relay(turn, begun.message_id)
                if emergency is not None:  # a live handoff never holds back the emergency path
                    await self.handler.handle(turn)
            elif cleaned.empty and not payload and not inbound.attachments:
                replies.append(Reply(texts["empty"]))
            elif not await desk_relay.take_satisfaction(turn):
                await self.handler.handle(turn)
            replies.extend(turn.replies)
            remember_shown(conversation, replies)
            return await self._write_replies(session, inbound, person.id, begun.message_id, replies, now,
                                             conversation=conversation)

    async def _write_replies(self, session, inbound: Inbound, person_id: int, message_id: int,
                             replies: list[Reply], now, conversation=None) -> list[Outbound]:
        """Store the replies (and the conversation's changes) in this transaction; the
        replies for the sender."""
        adapter = self.services.channels.get(inbound.channel)
        in_response = adapter is not None and adapter.replies_in_response
        out = []
        stored, queued = [], []
        for reply in replies:
            attachments = [asdict(a) for a in reply.attachments]
            stored.append((reply.text, attachments, reply.step))
            queued.append(dict(
                channel=inbound.channel, recipient=inbound.sender, text=reply.text,
                buttons=_buttons_json(reply.buttons), attachments=attachments, person_id=person_id,
                inbound_message_id=message_id, kind="reply",
                status="sent" if in_response else "pending", delivery="response" if in_response else "",
            ))
            out.append(Outbound(inbound.channel, inbound.sender, reply.text, reply.buttons, reply.attachments))
        await turns.finish_turn(session, channel=inbound.channel, person_id=person_id, replies=stored, queued=queued,
                                conversation=conversation, now=now)
        if in_response and out:
            self.services.metrics.outbound(inbound.channel, len(out))
        return out

    async def _stored(self, session, inbound: Inbound) -> list[Outbound]:
        self.services.metrics.duplicate()
        stored = await message_store.find_inbound(session, inbound.channel, inbound.message_id)
        rows = await message_store.stored_replies(session, stored.id) if stored else []
        return [outbound_from_row(r) for r in rows if r.channel == inbound.channel and r.recipient == inbound.sender]

    async def _apologize(self, inbound: Inbound, cleaned: Cleaned) -> list[Outbound]:
        """After a failed turn: store the message (so a repeat is not processed again) and
        answer with an apology, in a fresh transaction."""
        s = self.services
        now = s.clock()
        async with self._transaction() as session:
            person, _, _ = await people.find_or_create_by_identity(
                session, inbound.channel, inbound.sender, inbound.display_name, None, now=now)
            with session.sync_session.no_autoflush:  # the conversation's lock before the last-seen UPDATEs
                await people.get_conversation_for_update(session, person.id, lock=True)
            message_id = await message_store.record_inbound(
                session, channel=inbound.channel, channel_message_id=inbound.message_id,
                person_id=person.id, text=cleaned.text, intent="error", now=now,
            )
            if message_id is None:
                return await self._stored(session, inbound)
            texts = TEXTS.get(person.locale, TEXTS["zh"])
            return await self._write_replies(session, inbound, person.id, message_id, [Reply(texts["apology"])], now)

    async def _busy(self, inbound: Inbound) -> list[Outbound]:
        """The sender's lane is full: say so without processing the message. Channels that
        answer in the response get it there; others get one outbox row."""
        locale = inbound.locale_hint if inbound.locale_hint in TEXTS else self.services.settings.default_locale
        text = TEXTS.get(locale, TEXTS["zh"])["busy"]
        adapter = self.services.channels.get(inbound.channel)
        if adapter is None or not adapter.replies_in_response:
            try:
                async with self._transaction() as session:
                    await outbox_store.enqueue(session, channel=inbound.channel, recipient=inbound.sender,
                                               text=text, kind="notice", now=self.services.clock())
            except Exception as exc:
                if is_db_unavailable(exc):
                    raise DatabaseUnavailable(str(exc)) from exc
                raise
        return [Outbound(inbound.channel, inbound.sender, text)]
