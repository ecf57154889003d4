"""What one turn reads and writes, in two batches on the driver (storage/driver.py explains
why): `begin_turn` before the dialogue runs, `finish_turn` after it. The caller owns the
transaction; the dialogue in between uses the same session as usual.

    begin_turn   the sender's person and conversation (row locked on PostgreSQL; created on
                 first contact), the staff member whose messenger it is (if any), the
                 published flows and the KB version, in human mode the open handoff
                 (one statement), last-seen times when stale, the inbound message (a
                 repeated delivery is recognised here), and on request the choices of the
                 last message sent
    finish_turn  the replies as messages and outbox rows, and the conversation's changes

On PostgreSQL, where each statement is a round trip, a known sender's turn is four: BEGIN,
the sender's row read with the inbound message and the stale last-seen times written in the
same statement, finish_turn's
writes as one statement (data-modifying WITHs: `driver.Cursor.write`), COMMIT — plus what the
dialogue itself reads and writes. A first contact makes the person, identity, conversation and
inbound message in one statement. SQLite runs the same steps one statement each (no
data-modifying WITH there; its statements cost no round trip).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import driver, flow_store, handoffs, messages, outbox, people, policies
from storage.people import TurnConversation, TurnPerson

__all__ = ["Begun", "begin_turn", "finish_turn"]


@dataclass
class Begun:
    person: TurnPerson  # reads like the ORM row; setting an attribute attaches it
    conversation: TurnConversation
    message_id: int | None  # None: this message was stored before (a repeated delivery)
    last_buttons: list  # [{"title", "payload"}] of the last message to the sender, when asked for
    staff_id: int | None = None  # the sender's messenger is linked to this staff member


# what every turn checks, read with the sender's row: the published flows and the KB version
_VERSIONS = (flow_store.CURRENT_IDS, policies.KB_VERSION)
# and for a known sender, their open handoff when in human mode (the relay's; a first contact
# is in bot mode)
_READ = (*_VERSIONS, handoffs.OPEN_IN_HUMAN_MODE)


def _begin(cur: driver.Cursor, channel: str, external_id: str, display_name: str, locale: str | None,
           now: datetime, lock: bool, inbound: dict, choices: bool):
    # on PostgreSQL the read stores the inbound message too, when it finds the sender
    found = people.read_turn(cur, channel, external_id, display_name, now, lock, _READ, inbound)
    if found is None:  # first contact: the new rows as inserted, read again only after a race
        found = (people.first_contact(cur, channel, external_id, display_name, locale, now, _VERSIONS, inbound)
                 or people.read_turn(cur, channel, external_id, display_name, now, lock, _READ, inbound))
    person, conversation, versions, staff_id, message_id = found
    if len(versions) > len(_VERSIONS):
        conversation.open_handoff = versions.pop()
    if message_id is people.NOT_STORED:
        message_id = messages.store_inbound(cur, person["id"], inbound)
    buttons = outbox.last_buttons(cur, channel, external_id) if choices and message_id is not None else []
    return person, conversation, versions, message_id, buttons, staff_id


async def begin_turn(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    display_name: str,
    locale: str | None,
    message_id: str,
    text: str,
    attachments: list,
    intent: str,
    now: datetime,
    choices: bool = False,
    lock: bool = True,
) -> Begun:
    """Start the turn of an inbound message from (channel, external_id). `choices`: also read
    the buttons of the last message sent to the sender (a bare number may pick one)."""
    inbound = messages.inbound_row(channel=channel, channel_message_id=message_id, text=text,
                                   attachments=attachments, intent=intent, now=now)
    columns, conversation, (flow_ids, kb_version), stored_id, buttons, staff_id = await driver.run(
        session, _begin, channel, external_id, display_name, locale, now, lock, inbound, choices)
    flow_store.remember_current_ids(session, flow_ids)
    policies.remember_kb_version(session, kb_version)
    return Begun(TurnPerson(session, columns), conversation, stored_id, buttons, staff_id)


def _finish(cur: driver.Cursor, channel: str, person_id: int, replies: list[tuple], queued: list[dict],
            conversation: TurnConversation | None, changes: dict, now: datetime) -> None:
    # on PostgreSQL one statement: one round trip instead of three
    cur.write(messages.outbound(channel=channel, person_id=person_id, messages=replies, now=now),
              outbox.rows_write(queued, now),
              people.conversation_write(conversation, now, changes) if conversation is not None else None)
    if conversation is not None:
        people.conversation_written(conversation, changes)


async def finish_turn(
    session: AsyncSession,
    *,
    channel: str,
    person_id: int,
    replies: list[tuple],
    queued: list[dict],
    conversation: TurnConversation | None = None,
    now: datetime,
) -> None:
    """End the turn: `replies` [(text, attachments, flow_step)] stored as outbound messages, `queued`
    as outbox rows (`storage.outbox.enqueue`'s keyword arguments), and what the dialogue
    changed in the conversation."""
    changes = conversation.changes() if conversation is not None else {}  # compared once, not again to write
    if replies or queued or changes:
        await driver.run(session, _finish, channel, person_id, replies, queued, conversation, changes, now)
        outbox.note_queued(session, queued)
