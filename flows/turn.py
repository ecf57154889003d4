"""What the dispatcher (bot/dispatcher.py) hands to the dialogue layer for one inbound message:
the flow engine's input, so it lives here, below the app.

The dispatcher (bot/dispatcher.py) owns the transaction: it opens the session, finds the
person and their conversation row, runs the NLU, builds a `Turn`, and calls a `TurnHandler`
(the flow runtime in flows/runtime.py). The handler reads and changes state through
`turn.session` and the storage services, and answers with `turn.say(...)`. After it returns,
the dispatcher writes the replies to the outbox and commits everything at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from vocab.messages import Attachment, Button

CHOICE_PREFIX = "choice:"  # the payload of an answer button: "choice:<value>"


def echoed_payload(text: str) -> str:
    """The payload a client sent back as the message text (Rasa clients send a pressed
    button's payload that way): "/menu", "/start act-12", "choice:join"; else ""."""
    t = text.strip()
    if t.startswith("/") or (t.startswith(CHOICE_PREFIX) and len(t) > len(CHOICE_PREFIX)):
        return t
    return ""

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.people import TurnConversation, TurnPerson


@dataclass(frozen=True)
class Reply:
    """One bot message: text plus numbered choices. Channels decide how choices look."""

    text: str
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    step: str = ""  # "flow_id:step_id" of the step that said it, stored with the message


@dataclass
class Turn:
    session: "AsyncSession"
    person: "TurnPerson"  # reads like the Person row; setting an attribute attaches the ORM object
    conversation: "TurnConversation"  # the conversation row's columns; the dispatcher writes changes back
    channel: str
    sender: str  # channel user id
    text: str  # normalized for control characters, cut to the length limit
    parse: dict[str, Any]  # ParseResult (Rasa's shape)
    now: datetime  # aware; tests control it
    locale: str  # zh | en
    payload: str = ""  # a pressed button or deep link
    attachments: tuple[Attachment, ...] = ()
    emergency: Any = None  # nlu EmergencyResult when the detector fired
    services: Any = None  # bot.services.Services: settings, nlu, kb, clock
    replies: list[Reply] = field(default_factory=list)
    step: str = ""  # the flow step running now ("flow_id:step_id"; the runtime sets it), "" outside a flow

    def say(self, text: str, buttons: tuple[Button, ...] | list[Button] = (), attachments=()) -> None:
        self.replies.append(Reply(text, tuple(buttons), tuple(attachments), self.step))


class TurnHandler(Protocol):
    async def handle(self, turn: Turn) -> None: ...
