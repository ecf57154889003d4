"""Messages that cross the boundary between channels and the dispatcher.

Channel adapters turn a platform payload into an `Inbound` and an `Outbound` into platform
calls; nothing else in the application knows a platform.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Attachment:
    kind: str  # voice | photo | document | location
    path: str = ""  # file in the media store, relative to XIANGZHU_MEDIA_DIR
    mime: str = ""
    platform_id: str = ""  # the platform's own media id, kept for reference
    text: str = ""  # a transcript (WeChat Recognition) or a location label
    link: str = ""  # where staff can see it on the web, when a messenger cannot carry the file


@dataclass(frozen=True)
class Inbound:
    channel: str  # rest | console | telegram | wechat
    sender: str  # the channel's own user id
    text: str
    message_id: str  # unique per channel; deliveries with the same id are one message
    payload: str = ""  # a pressed button / deep link, e.g. "/start act-12" or "choice:2"
    attachments: tuple[Attachment, ...] = ()
    display_name: str = ""
    locale_hint: str = ""
    received_at: datetime | None = None
    metadata: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Outbound:
    channel: str
    recipient: str
    text: str
    buttons: tuple[Button, ...] = ()
    attachments: tuple[Attachment, ...] = ()
