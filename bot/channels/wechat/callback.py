"""A WeChat callback's body: checked to be plain XML (no DTD, entity or external reference),
then parsed by wechatpy into what the dispatcher should see."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import defusedxml.ElementTree as SafeET

from bot.errors import BotError
from vocab.messages import Attachment, Inbound

__all__ = ["CHANNEL", "CallbackRejected", "MediaToFetch", "Parsed", "check_plain_xml", "to_inbound"]

CHANNEL = "wechat"
_INVITE = re.compile(r"^\s*(?:/start\s+)?(w-[A-Za-z0-9]{4,64})\s*$", re.IGNORECASE)


class CallbackRejected(BotError):
    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


def check_plain_xml(data: bytes | str) -> None:
    """Raise CallbackRejected(400) unless `data` is one well-formed XML document with an `xml`
    root and no DTD, entity declaration or external reference."""
    try:
        root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except SafeET.ParseError as exc:
        raise CallbackRejected(400, f"malformed XML: {exc}") from exc
    except ValueError as exc:  # defusedxml's DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
        raise CallbackRejected(400, f"forbidden XML construct: {type(exc).__name__}") from exc
    if root.tag != "xml":
        raise CallbackRejected(400, f"unexpected XML root <{root.tag}>")


@dataclass(frozen=True)
class MediaToFetch:
    index: int  # position in inbound.attachments
    media_id: str
    fallback_suffix: str


@dataclass(frozen=True)
class Parsed:
    """What one callback asks of us."""

    kind: str  # dispatch | unsubscribe | ignore
    message: Any = None  # the wechatpy message (to address the passive reply)
    inbound: Inbound | None = None
    media: tuple[MediaToFetch, ...] = ()


def _event_id(msg, event: str, extra: str = "") -> str:
    """Events carry no MsgId: the sender, CreateTime and the event (a menu key hashed, to stay
    within the 128 characters of a message id)."""
    tail = ":" + hashlib.sha1(extra.encode("utf-8")).hexdigest()[:12] if extra else ""
    return f"ev:{msg.source[:64]}:{msg.time}:{event}{tail}"


def _message_id(msg) -> str:
    """MsgId; a message without one (WeChat always sends it) falls back to sender + time."""
    return str(msg.id) if msg.id else _event_id(msg, getattr(msg, "type", "message"))


def to_inbound(msg) -> Parsed:
    """A parsed wechatpy message as what the dispatcher should see."""
    mtype = getattr(msg, "type", "")
    base = dict(channel=CHANNEL, sender=msg.source, received_at=msg.create_time)
    if mtype == "text":
        content = msg.content or ""
        invite = _INVITE.match(content)
        payload = f"/start {invite.group(1)}" if invite else ""  # WeChat has no deep links
        return Parsed("dispatch", msg, Inbound(text=content, message_id=_message_id(msg), payload=payload, **base))
    if mtype == "voice":
        recognition = (msg.recognition or "").strip()
        fmt = (msg.format or "amr").lower()
        att = Attachment(kind="voice", mime=f"audio/{fmt}", platform_id=msg.media_id or "", text=recognition)
        inbound = Inbound(text=recognition, message_id=_message_id(msg), attachments=(att,), **base)
        media = (MediaToFetch(0, msg.media_id, fmt),) if msg.media_id else ()
        return Parsed("dispatch", msg, inbound, media)
    if mtype == "image":
        att = Attachment(kind="photo", mime="image/jpeg", platform_id=msg.media_id or "")
        media = (MediaToFetch(0, msg.media_id, "jpg"),) if msg.media_id else ()
        return Parsed("dispatch", msg, Inbound(text="", message_id=_message_id(msg), attachments=(att,), **base), media)
    if mtype == "location":
        att = Attachment(kind="location", text=msg.label or "", platform_id=f"geo:{msg.location_x},{msg.location_y}")
        inbound = Inbound(text="", message_id=_message_id(msg), attachments=(att,),
                          metadata={"latitude": msg.location_x, "longitude": msg.location_y, "scale": msg.scale}, **base)
        return Parsed("dispatch", msg, inbound)
    if mtype == "link":
        text = " ".join(p for p in (msg.title, msg.url) if p)
        return Parsed("dispatch", msg, Inbound(text=text, message_id=_message_id(msg), **base))
    if mtype in ("video", "shortvideo", "miniprogrampage"):
        return Parsed("dispatch", msg, Inbound(text="", message_id=_message_id(msg), **base))
    if mtype == "event":
        event = getattr(msg, "event", "")
        if event == "subscribe":
            return Parsed("dispatch", msg, Inbound(text="", payload="/start", message_id=_event_id(msg, event), **base))
        if event == "subscribe_scan":  # scanned a QR code with a scene: like a Telegram deep link
            scene = str(msg.scene_id or "").strip()
            payload = f"/start {scene}" if scene else "/start"
            return Parsed("dispatch", msg, Inbound(text="", payload=payload, message_id=_event_id(msg, event), **base))
        if event == "click":
            key = (msg.key or "").strip()
            if not key:
                return Parsed("ignore", msg)
            return Parsed("dispatch", msg, Inbound(text="", payload=key, message_id=_event_id(msg, event, key), **base))
        if event == "unsubscribe":
            return Parsed("unsubscribe", msg)
    return Parsed("ignore", msg)  # VIEW (opens a link), location reports, job reports, …
