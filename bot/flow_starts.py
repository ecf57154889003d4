"""Starting a flow for a person without a message from them (a campaign's `flow` action): the
flow runtime runs one turn with the flow's payload ("/checkin 12") on the person's
conversation, as if they had pressed its button; its replies go to the messenger they used
last through the outbox, its choices are remembered like a reply's (so "1" answers them), and
the conversation stays at the flow's question — their next message is handled by that flow.
The caller owns the transaction (the leader's timer handler)."""
from __future__ import annotations

import re
from typing import Any

from bot.dispatcher import remember_shown
from flows.turn import Turn
from storage import flow_store
from storage import people as people_store
from storage.models import NeedRequest, OutboxMessage, Person
from storage.notify import best_identity, notify_person

PLACEHOLDER = re.compile(r"\{(\w+)\}")
EMPTY_PARSE = {"text": "", "intent": {"name": "nlu_fallback", "confidence": 0.0}, "entities": [],
               "intent_ranking": []}


async def _names_of(session, ref: str) -> dict[str, str]:
    """What a campaign row's anchor can fill into a payload: flag:N → {flag}, case:N → {case}
    (its number), enrollment:N → {enrollment}."""
    kind, _, value = ref.partition(":")
    if kind == "case":
        case = await session.get(NeedRequest, int(value))
        return {"case": case.number} if case else {}
    if kind in ("flag", "enrollment"):
        return {kind: value}
    return {}


async def payload_for(services: Any, session, flow_id: str, ref: str) -> str | None:
    """The flow's first payload pattern whose placeholders the anchor fills, filled; None when
    the flow is not published or cannot be started that way."""
    version_id = (await flow_store.current_ids(session)).get(flow_id)
    load = getattr(services.handler, "flow", None)  # the flow runtime's parsed-flow cache
    flow = await load(session, version_id) if version_id and load is not None else None
    if flow is None:
        return None
    names = await _names_of(session, ref)
    for pattern in flow.triggers.payloads:
        wanted = PLACEHOLDER.findall(pattern)
        if all(n in names for n in wanted):
            return PLACEHOLDER.sub(lambda m: names[m.group(1)], pattern)
    return None


async def start_flow(services: Any, session, person: Person, payload: str, *, now, kind: str = "campaign"
                     ) -> list[OutboxMessage]:
    """Run the turn that starts the flow; returns the outbox rows of its replies ([] when the
    person has no reachable messenger — nothing is changed then)."""
    identity = await best_identity(session, person_id=person.id)
    if identity is None:
        return []
    conversation = await people_store.get_conversation_for_update(session, person.id, lock=True)
    locale = person.locale if person.locale in ("zh", "en") else services.settings.default_locale
    turn = Turn(session=session, person=people_store.TurnPerson(session, orm=person), conversation=conversation,
                channel=identity.channel, sender=identity.external_id, text="", parse=EMPTY_PARSE, now=now,
                locale=locale, payload=payload, services=services)
    await services.handler.handle(turn)
    rows = []
    for reply in turn.replies:
        row = await notify_person(session, person.id, reply.text, buttons=reply.buttons, kind=kind,
                                  respect_opt_out=True)
        if row is not None:
            rows.append(row)
    remember_shown(conversation, turn.replies)
    await session.flush()
    return rows
