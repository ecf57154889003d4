"""An update as what the dispatcher should see: a message or a button press as an `Inbound`
(with the files to fetch), or the bot blocked / unblocked. No I/O."""
from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import CallbackQuery, Message, Update

from bot.channels.telegram.bot_api import CHANNEL
from vocab import menu
from vocab.messages import Attachment, Button, Inbound

__all__ = ["MAIN_MENU", "FileToFetch", "Parsed", "parse_update"]

# The main menu as a reply keyboard: pressing a key sends its title as text, which we turn
# back into the flow payload (same keys as WeChat's custom menu).
MAIN_MENU: tuple[Button, ...] = tuple(Button(f"{item.zh} {item.en}", item.payload) for item in menu.MAIN_MENU)
_MENU_PAYLOADS = {b.title: b.payload for b in MAIN_MENU}

@dataclass(frozen=True)
class FileToFetch:
    index: int  # position in inbound.attachments
    file_id: str
    mime: str
    suffix: str
    size: int | None = None


@dataclass(frozen=True)
class Parsed:
    """What one update asks of us."""

    kind: str  # dispatch | blocked | unblocked | ignore
    chat_id: int | None = None
    inbound: Inbound | None = None
    files: tuple[FileToFetch, ...] = ()
    callback_query_id: str = ""


_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,64})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)


def _locale_hint(user) -> str:
    code = (getattr(user, "language_code", None) or "").lower()
    return "zh" if code.startswith("zh") else "en" if code.startswith("en") else ""


def _display_name(user) -> str:
    if user is None:
        return ""
    return " ".join(p for p in (user.first_name, user.last_name) if p)[:100]


def _message_parts(message: Message) -> tuple[str, str, list[Attachment], list[FileToFetch], dict]:
    """(text, payload, attachments, files to fetch, metadata) of a user's message."""
    text = message.text or message.caption or ""
    payload = ""
    attachments: list[Attachment] = []
    files: list[FileToFetch] = []
    metadata: dict = {}
    if message.text:
        m = _COMMAND.match(message.text.strip())
        if m:
            command, argument = m.group(1).lower(), (m.group(2) or "").strip()
            payload = f"/{command} {argument}" if argument else f"/{command}"
        elif message.text.strip() in _MENU_PAYLOADS:
            payload = _MENU_PAYLOADS[message.text.strip()]

    def add_file(kind: str, item, mime: str, suffix: str) -> None:
        attachments.append(Attachment(kind=kind, mime=mime, platform_id=item.file_id))
        files.append(FileToFetch(len(attachments) - 1, item.file_id, mime, suffix, item.file_size))

    if message.photo:
        add_file("photo", message.photo[-1], "image/jpeg", "jpg")  # the largest size
    if message.voice:
        add_file("voice", message.voice, message.voice.mime_type or "audio/ogg", "ogg")
    if message.audio:
        add_file("voice", message.audio, message.audio.mime_type or "audio/mpeg", "mp3")
    if message.document:
        doc = message.document
        suffix = (doc.file_name or "").rsplit(".", 1)[-1] if "." in (doc.file_name or "") else "bin"
        add_file("document", doc, doc.mime_type or "application/octet-stream", suffix)
    if message.video:
        add_file("document", message.video, message.video.mime_type or "video/mp4", "mp4")
    if message.location:
        loc = message.location
        label = ""
        if message.venue:
            label = " ".join(p for p in (message.venue.title, message.venue.address) if p)
        attachments.append(Attachment(kind="location", platform_id=f"geo:{loc.latitude},{loc.longitude}", text=label))
        metadata.update(latitude=loc.latitude, longitude=loc.longitude)
    return text, payload, attachments, files, metadata


def _pressed_title(query: CallbackQuery) -> str:
    markup = query.message.reply_markup if query.message is not None else None
    for row in getattr(markup, "inline_keyboard", None) or ():
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return ""


def parse_update(update: Update) -> Parsed:
    """What an update means for us; no I/O."""
    if update.message is not None:
        message = update.message
        chat = message.chat
        user = message.from_user
        text, payload, attachments, files, metadata = _message_parts(message)
        metadata.update(update_id=update.update_id, chat_type=chat.type)
        inbound = Inbound(
            channel=CHANNEL,
            sender=str(chat.id),
            text=text,
            message_id=f"{chat.id}:{message.message_id}",
            payload=payload,
            attachments=tuple(attachments),
            display_name=_display_name(user),
            locale_hint=_locale_hint(user),
            received_at=message.date,
            metadata=metadata,
        )
        if not text and not attachments:
            return Parsed("ignore", chat.id)  # joins, pins, stickers …
        return Parsed("dispatch", chat.id, inbound, tuple(files))
    if update.callback_query is not None:
        query = update.callback_query
        chat_id = query.message.chat.id if query.message is not None else query.from_user.id
        data = query.data or ""
        if data.startswith("#"):  # a choice whose payload was too long for callback_data
            text, payload = data[1:], ""
        else:
            text, payload = _pressed_title(query), data
        inbound = Inbound(
            channel=CHANNEL,
            sender=str(chat_id),
            text=text,
            message_id=f"cb:{query.id}",
            payload=payload,
            display_name=_display_name(query.from_user),
            locale_hint=_locale_hint(query.from_user),
            metadata={"update_id": update.update_id, "callback": True},
        )
        return Parsed("dispatch", chat_id, inbound, callback_query_id=query.id)
    if update.my_chat_member is not None:
        member = update.my_chat_member
        status = member.new_chat_member.status
        if status in ("kicked", "left"):
            return Parsed("blocked", member.chat.id)
        if status in ("member", "administrator"):
            return Parsed("unblocked", member.chat.id)
    return Parsed("ignore")
