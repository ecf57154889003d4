"""What every channel adapter is, and the errors its `send` may raise.

An adapter translates between one messenger and `Inbound`/`Outbound`; it holds no business
logic. Inbound: the adapter (or its HTTP route) builds an `Inbound` and awaits
`services.dispatcher.handle(inbound)`. Outbound: the outbox sender (bot/outbox.py) calls
`send(out)` for each row, in order per recipient, within the adapter's rate limits.

    SendError
    ├── RetryableSendError(retry_after=None)   try again later (rate limit, timeout, 5xx)
    ├── PermanentSendError                     this message can never go out (bad request)
    └── RecipientUnreachable                   the account blocked the bot or is gone
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Iterable

from bot.errors import BotError
from vocab.messages import Button, Outbound

__all__ = [
    "ChannelAdapter",
    "ChannelRegistry",
    "DeliveryHeld",
    "PermanentSendError",
    "RecipientUnreachable",
    "RetryableSendError",
    "SendError",
    "choice_payload",
    "render_numbered",
]


class SendError(BotError):
    """Sending one outbound message failed."""


class RetryableSendError(SendError):
    def __init__(self, message: str = "", retry_after: float | None = None):
        super().__init__(message or "temporary failure")
        self.retry_after = retry_after


class DeliveryHeld(SendError):
    """The channel may not deliver now and will be able to once the recipient writes again
    (e.g. WeChat's 48-hour window): the outbox holds the row (status `held`) until then, or
    for `retry_after` seconds before it tries again."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(SendError):
    pass


class RecipientUnreachable(PermanentSendError):
    pass


class ChannelAdapter(ABC):
    """One messenger. Class attributes describe it to the dispatcher and the outbox sender."""

    name: str = ""
    renders_buttons: bool = False  # False: choices become "回复数字：1. … 2. …"
    replies_in_response: bool = False  # True: replies to a message go back in the HTTP answer
    pushes: bool = True  # False: the outbox sender never calls send(); clients poll instead
    rate_per_second: float | None = None  # overall, for this channel (token bucket)
    burst: int = 1
    per_recipient_per_second: float | None = None  # e.g. Telegram: 1 message/s per chat

    async def start(self) -> None:
        """Open connections; called once when the application starts."""

    async def stop(self) -> None:
        """Close connections; called once when the application stops."""

    @abstractmethod
    async def send(self, out: Outbound) -> None:
        """Deliver one message or raise a SendError."""


class ChannelRegistry:
    """Channel name → adapter, on `services.channels`."""

    def __init__(self) -> None:
        self._adapters: dict[str, ChannelAdapter] = {}

    def register(self, adapter: ChannelAdapter) -> ChannelAdapter:
        if not adapter.name:
            raise ValueError(f"adapter {type(adapter).__name__} has no name")
        self._adapters[adapter.name] = adapter
        return adapter

    def get(self, name: str) -> ChannelAdapter | None:
        return self._adapters.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self._adapters

    def __iter__(self):
        return iter(list(self._adapters.values()))

    def names(self) -> list[str]:
        return sorted(self._adapters)

    def pushing(self) -> list[str]:
        """Channels whose pending rows the outbox sender delivers."""
        return sorted(n for n, a in self._adapters.items() if a.pushes)


_HEADINGS = {"zh": "回复数字：", "en": "Reply with a number:"}


def render_numbered(text: str, buttons: Iterable[Button], locale: str = "zh") -> str:
    """Text plus choices as numbered lines, for channels without buttons."""
    buttons = list(buttons)
    if not buttons:
        return text
    heading = _HEADINGS.get(locale, _HEADINGS["zh"])
    lines = [f"{i}. {b.title}" for i, b in enumerate(buttons, 1)]
    return "\n".join([text, "", heading, *lines]) if text else "\n".join([heading, *lines])


_CIRCLED = {chr(0x2460 + i): str(i + 1) for i in range(20)}  # ① … ⑳
_CHOICE = re.compile(r"^\s*(\d{1,2})\s*[.。、)）]?\s*$")


def choice_payload(text: str, buttons: Iterable[Button]) -> str:
    """The payload of the choice a numbered reply picks ("2", "２", "②", "2."), or ""."""
    buttons = list(buttons)
    if not buttons or not text:
        return ""
    t = "".join(_CIRCLED.get(c, c) for c in text.strip())
    t = t.translate({0xFF10 + i: str(i) for i in range(10)})  # full-width digits
    m = _CHOICE.match(t)
    if not m:
        return ""
    n = int(m.group(1))
    return buttons[n - 1].payload if 1 <= n <= len(buttons) else ""
