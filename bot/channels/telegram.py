"""The Telegram channel (python-telegram-bot 22 as the Bot API client; the only module that
imports `telegram`).

    update ──parse_update()──▶ Inbound (+ files to fetch, a callback to answer)
           ──media store──▶ dispatcher.handle()  (records the message and the replies: commits)
    outbox row ──TelegramAdapter.send()──▶ sendMessage (split at 4096), inline keyboard or
           the main-menu reply keyboard, photos / voice / documents from the media store

Two ways in, chosen by configuration:

- Long polling (XIANGZHU_TELEGRAM_TOKEN set, no XIANGZHU_TELEGRAM_WEBHOOK_URL): our own loop
  of `Bot.get_updates`, not PTB's Updater (which confirms an offset before our transaction has
  committed). The loop runs on the leader process only (`services.leader_status()`); each batch
  is handled — different chats concurrently, one chat's updates in order — and committed
  before the next offset is stored (kv `telegram:offset`) and asked for. A crash redelivers at
  most the last batch, and the dispatcher's dedupe makes those duplicates no-ops.
- Webhook (XIANGZHU_TELEGRAM_WEBHOOK_URL set; XIANGZHU_TELEGRAM_SECRET required):
  `POST /webhooks/telegram` checks `X-Telegram-Bot-Api-Secret-Token` (403 otherwise), handles
  the update before answering 200 (503 when the database is away, so Telegram retries).

A redelivered update is one message: the dispatcher's message id is `<chat id>:<message id>`
for messages and `cb:<callback query id>` for button presses (both stay the same on
redelivery), and a short in-process memory of update ids skips repeats before any work.

Deep links: `/start act-12` reaches the flows as the payload "/start act-12"; `/start w-CODE`
(a worker's invite) likewise, and the flow `worker_link` redeems it.

Limits (Telegram's FloodLimit): 30 messages/s overall and 1/s per chat are declared on the
adapter for the outbox sender; 20/min per group is kept here (RetryableSendError with the time
until a slot frees). 429 → RetryableSendError(retry_after); network errors → RetryableSendError
(the sender backs off with jitter); 403 / chat not found → RecipientUnreachable.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import logging
import random
import re
import time
import warnings
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from telegram import (
    Bot,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest

from bot.channels.base import (
    ChannelAdapter,
    PermanentSendError,
    RecipientUnreachable,
    RetryableSendError,
)
from storage.db import is_db_unavailable
from vocab.errors import DatabaseUnavailable
from bot.media import MediaStore
from vocab import menu
from vocab.messages import Attachment, Button, Inbound, Outbound
from storage import kv, people

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.services import Services

__all__ = [
    "CHANNEL",
    "MAIN_MENU",
    "MAX_TEXT",
    "OFFSET_KEY",
    "SECRET_HEADER",
    "TelegramAdapter",
    "TelegramPoller",
    "mount",
    "parse_update",
    "split_text",
    "telegram_mode",
]

log = logging.getLogger("xiangzhu.telegram")

# PTB 22 builds RetryAfter's message through its int/timedelta migration shim, which warns on
# every 429; we read the value as seconds whichever type it has (`_seconds`).
warnings.filterwarnings("ignore", message=r".*`retry_after` will be of type", category=DeprecationWarning)

CHANNEL = "telegram"
MAX_TEXT = 4096  # characters per message (counted by Telegram in UTF-16 code units)
MAX_CALLBACK_DATA = 64  # bytes
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile serves files up to 20 MB
OFFSET_KEY = "telegram:offset"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_PATH = "/webhooks/telegram"
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
GROUP_PER_MINUTE = 20
MAX_WEBHOOK_BODY = 1024 * 1024
_SECRET_OK = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

# The main menu as a reply keyboard: pressing a key sends its title as text, which we turn
# back into the flow payload (same keys as WeChat's custom menu).
MAIN_MENU: tuple[Button, ...] = tuple(Button(f"{item.zh} {item.en}", item.payload) for item in menu.MAIN_MENU)
_MENU_PAYLOADS = {b.title: b.payload for b in MAIN_MENU}

def telegram_mode(settings: "Settings") -> str:
    """"off" (no token), "webhook" (a webhook URL is set) or "polling"."""
    if not settings.telegram_token:
        return "off"
    return "webhook" if settings.telegram_webhook_url else "polling"


def file_base_url(api_base: str) -> str:
    """The Bot API's file URL for its method URL: ".../bot" → ".../file/bot"."""
    base = api_base.rstrip("/")
    return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base + "/file/bot"


class RedactToken(logging.Filter):
    """Replaces the bot token in log records: httpx logs every request URL, and Bot API URLs
    carry the token (`…/bot<TOKEN>/sendMessage`)."""

    def __init__(self, token: str):
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            if self.token in message:
                record.msg, record.args = message.replace(self.token, "***"), None
        return True


_LOGGERS_WITH_URLS = ("httpx", "telegram")


# ── long texts ───────────────────────────────────────────────────────────────────────────


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# a sentence: up to 。！？；… (with closing quotes), or .!?; followed by a space (not "1." of a
# numbered line), or a line break; the last piece of a line may have no end at all
_SENTENCE = re.compile(
    r"[^\n]*?(?:[。！？；…]+[”’」』）)]*|(?:[!?;]+|(?<!\d)\.+)[”\"')]*(?:[ \t]+|$)|\n+)|[^\n]+"
)


def _hard_split(text: str, limit: int) -> list[str]:
    """A piece without sentence ends: cut at the last space before the limit, else anywhere."""
    parts: list[str] = []
    while _units(text) > limit:
        cut = limit
        while _units(text[:cut]) > limit:
            cut -= 1
        space = text.rfind(" ", 0, cut)
        if space > cut // 2:
            cut = space + 1
        parts.append(text[:cut])
        text = text[cut:]
    if text:
        parts.append(text)
    return parts


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """`text` in messages of at most `limit` characters, cut after sentence ends (。！？!?.;
    and line breaks) wherever possible. Joined again they give `text` back."""
    if _units(text) <= limit:
        return [text]
    sentences = _SENTENCE.findall(text)
    chunks: list[str] = []
    current = ""
    for sentence in sentences:
        if _units(current + sentence) <= limit:
            current += sentence
            continue
        if current:
            chunks.append(current)
            current = ""
        if _units(sentence) <= limit:
            current = sentence
        else:
            pieces = _hard_split(sentence, limit)
            chunks.extend(pieces[:-1])
            current = pieces[-1]
    if current:
        chunks.append(current)
    return chunks


# ── parsing updates ──────────────────────────────────────────────────────────────────────


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


# ── the adapter ──────────────────────────────────────────────────────────────────────────


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the int/timedelta migration
        warnings.simplefilter("ignore")
        return _seconds(exc.retry_after)


class TelegramAdapter(ChannelAdapter):
    name = CHANNEL
    renders_buttons = True
    replies_in_response = False
    pushes = True
    rate_per_second = 30.0  # FloodLimit.MESSAGES_PER_SECOND
    burst = 1
    per_recipient_per_second = 1.0  # FloodLimit.MESSAGES_PER_SECOND_PER_CHAT
    group_per_minute = GROUP_PER_MINUTE  # FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP, kept here

    def __init__(self, services: "Services"):
        self.services = services
        settings = services.settings
        self.mode = telegram_mode(settings)
        self.token = settings.telegram_token
        self.base_url = settings.telegram_base_url
        self.media = MediaStore(settings.media_dir)
        self.bot: Bot | None = None
        self.poller: TelegramPoller | None = None
        self._tasks: list[asyncio.Task] = []
        self._recent_updates: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._group_sends: dict[str, collections.deque] = {}
        self._partial: dict[tuple[str, str], int] = {}  # (chat, text digest) → chunks already sent
        self._redact = RedactToken(self.token)

    # lifecycle ---------------------------------------------------------------------------

    def make_bot(self) -> Bot:
        return Bot(
            self.token,
            base_url=self.base_url,
            base_file_url=file_base_url(self.base_url),
            request=HTTPXRequest(connection_pool_size=64, read_timeout=15.0, write_timeout=15.0,
                                 media_write_timeout=60.0),
            get_updates_request=HTTPXRequest(connection_pool_size=2, read_timeout=10.0),
        )

    async def start(self) -> None:
        for name in _LOGGERS_WITH_URLS:
            logging.getLogger(name).addFilter(self._redact)
        self.bot = self.make_bot()
        if self.mode == "polling":
            self.poller = TelegramPoller(self)
            self._tasks.append(asyncio.create_task(self.poller.run(), name="telegram-polling"))
        elif self.mode == "webhook":
            self._tasks.append(asyncio.create_task(self._register_webhook(), name="telegram-webhook"))

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("telegram task ended with an error")
        if self.bot is not None:
            try:
                await self.bot.shutdown()
            except Exception as exc:
                log.warning("telegram: closing the HTTP client failed: %s", self._clean(exc))
        for name in _LOGGERS_WITH_URLS:
            logging.getLogger(name).removeFilter(self._redact)

    async def _register_webhook(self) -> None:
        """setWebhook with the secret, retried with back-off until Telegram accepts it."""
        settings = self.services.settings
        attempt = 0
        while True:
            try:
                await self.bot.set_webhook(
                    url=settings.telegram_webhook_url, secret_token=settings.telegram_secret,
                    allowed_updates=ALLOWED_UPDATES,
                )
                log.info("telegram: webhook registered")
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                delay = min(300.0, 2.0 ** min(attempt, 8)) * random.uniform(0.5, 1.0)
                log.warning("telegram: setWebhook failed (%s); retrying in %.0fs", self._clean(exc), delay)
                await asyncio.sleep(delay)

    def _clean(self, exc: BaseException) -> str:
        """An error message without the bot token (PTB puts it into some messages)."""
        return str(exc).replace(self.token, "***") if self.token else str(exc)

    # inbound -----------------------------------------------------------------------------

    def seen_update(self, update_id: int) -> bool:
        """True when this process already handled `update_id` (a webhook redelivery)."""
        return update_id in self._recent_updates

    def _remember(self, update_id: int) -> None:
        self._recent_updates[update_id] = None
        while len(self._recent_updates) > 10_000:
            self._recent_updates.popitem(last=False)

    def parse_json(self, data: dict) -> Update:
        return Update.de_json(data, self.bot)

    async def process_update(self, update: Update) -> None:
        """Handle one update durably. Raises DatabaseUnavailable when it could not be stored
        (the caller must deliver it again); anything else is logged and the update dropped."""
        if self.seen_update(update.update_id):
            return
        try:
            parsed = parse_update(update)
            if parsed.kind == "dispatch":
                inbound = await self._with_files(parsed.inbound, parsed.files)
                await self.services.dispatcher.handle(inbound)
            elif parsed.kind in ("blocked", "unblocked"):
                async with self.services.db.session() as session:
                    await people.mark_unreachable(session, CHANNEL, str(parsed.chat_id), parsed.kind == "blocked")
                log.info("telegram: chat %s %s the bot", parsed.chat_id, parsed.kind)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if is_db_unavailable(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            log.exception("telegram: update %s could not be handled; dropped", update.update_id)
            self._remember(update.update_id)
            return
        self._remember(update.update_id)
        if parsed.callback_query_id:
            await self._answer_callback(parsed.callback_query_id)

    async def _answer_callback(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:  # too old after a redelivery, or the network: the spinner stops by itself
            log.info("telegram: answerCallbackQuery failed: %s", self._clean(exc))

    async def _with_files(self, inbound: Inbound, files: tuple[FileToFetch, ...]) -> Inbound:
        """Download the message's files into the media store; a file that cannot be fetched
        keeps its platform id (a worker still sees that something came)."""
        if not files:
            return inbound
        attachments = list(inbound.attachments)
        for item in files:
            if item.size is not None and item.size > min(MAX_DOWNLOAD, self.media.max_bytes):
                log.warning("telegram: file of %d bytes is too big to keep; platform id only", item.size)
                continue
            try:
                tg_file = await self.bot.get_file(item.file_id)
                data = bytes(await tg_file.download_as_bytearray())
                path = await asyncio.to_thread(self.media.save, data, mime=item.mime, suffix=item.suffix)
            except Exception as exc:
                log.warning("telegram: downloading a %s failed: %s", attachments[item.index].kind, self._clean(exc))
                continue
            attachments[item.index] = replace(attachments[item.index], path=path)
        return replace(inbound, attachments=tuple(attachments))

    # outbound ----------------------------------------------------------------------------

    def reply_markup(self, buttons: tuple[Button, ...]):
        """Inline buttons for choices; otherwise the main menu as a reply keyboard."""
        if buttons:
            rows = []
            for n, b in enumerate(buttons, 1):
                data = b.payload if 0 < len(b.payload.encode("utf-8")) <= MAX_CALLBACK_DATA else f"#{n}"
                rows.append([InlineKeyboardButton(b.title[:64], callback_data=data)])
            return InlineKeyboardMarkup(rows)
        keys = [KeyboardButton(b.title) for b in MAIN_MENU]
        return ReplyKeyboardMarkup([keys[i:i + 2] for i in range(0, len(keys), 2)],
                                   resize_keyboard=True, is_persistent=True)

    def _group_slot(self, chat_id: str) -> None:
        """At most 20 messages a minute to a group (negative chat ids); else retry later."""
        if not chat_id.startswith("-"):
            return
        now = time.monotonic()
        window = self._group_sends.setdefault(chat_id, collections.deque())
        while window and now - window[0] >= 60.0:
            window.popleft()
        if len(window) >= self.group_per_minute:
            raise RetryableSendError("group limit: 20 messages a minute", retry_after=60.0 - (now - window[0]))
        window.append(now)

    async def send(self, out: Outbound) -> None:
        if self.bot is None:
            raise RetryableSendError("telegram adapter not started")
        chat_id = out.recipient
        self._group_slot(chat_id)
        chunks = split_text(out.text) if out.text else []
        key = (chat_id, hashlib.sha1(out.text.encode("utf-8")).hexdigest())
        done = self._partial.get(key, 0)  # chunks a failed earlier attempt already sent
        try:
            for n, chunk in enumerate(chunks):
                if n < done:
                    continue
                markup = self.reply_markup(out.buttons) if n == len(chunks) - 1 else None
                await self._call(self.bot.send_message, chat_id=chat_id, text=chunk, reply_markup=markup)
                if n < len(chunks) - 1:
                    self._partial[key] = n + 1
                    if self.per_recipient_per_second:  # the outbox sender paces messages, we pace parts
                        await asyncio.sleep(1.0 / self.per_recipient_per_second)
        except PermanentSendError:
            self._partial.pop(key, None)  # never retried: forget the progress
            raise
        self._partial.pop(key, None)
        for attachment in out.attachments:
            await self._send_attachment(chat_id, attachment)

    async def _send_attachment(self, chat_id: str, att: Attachment) -> None:
        if att.kind == "location" and att.platform_id.startswith("geo:"):
            lat, _, lon = att.platform_id[4:].partition(",")
            await self._call(self.bot.send_location, chat_id=chat_id, latitude=float(lat), longitude=float(lon))
            return
        if not att.path:
            return  # nothing kept to send (the text of the message says what came)
        try:
            data = await asyncio.to_thread(self.media.resolve(att.path).read_bytes)
        except (OSError, ValueError) as exc:
            log.warning("telegram: media %s not found: %s", att.path, exc)
            return
        filename = att.path.rsplit("/", 1)[-1]
        if att.kind == "photo":
            await self._call(self.bot.send_photo, chat_id=chat_id, photo=data, caption=att.text or None)
        elif att.kind == "voice" and att.mime in ("audio/ogg", "audio/opus"):
            await self._call(self.bot.send_voice, chat_id=chat_id, voice=data, caption=att.text or None)
        else:  # other audio (WeChat's AMR), documents
            await self._call(self.bot.send_document, chat_id=chat_id, document=data, filename=filename,
                             caption=att.text or None)

    async def _call(self, method, **kwargs):
        """One Bot API call, its errors as SendErrors."""
        try:
            return await method(**kwargs)
        except RetryAfter as exc:
            raise RetryableSendError(f"flood control: {self._clean(exc)}", retry_after=_retry_after(exc)) from exc
        except Forbidden as exc:  # "bot was blocked by the user", "user is deactivated", kicked
            raise RecipientUnreachable(self._clean(exc)) from exc
        except ChatMigrated as exc:
            raise PermanentSendError(f"group moved to chat {exc.new_chat_id}") from exc
        except BadRequest as exc:
            message = self._clean(exc)
            if "chat not found" in message.lower() or "user not found" in message.lower():
                raise RecipientUnreachable(message) from exc
            raise PermanentSendError(message) from exc
        except InvalidToken as exc:
            raise RetryableSendError("the bot token was rejected (check XIANGZHU_TELEGRAM_TOKEN)") from exc
        except NetworkError as exc:  # includes TimedOut
            raise RetryableSendError(f"network: {self._clean(exc)}") from exc
        except TelegramError as exc:
            raise RetryableSendError(self._clean(exc)) from exc


# ── long polling ─────────────────────────────────────────────────────────────────────────


@dataclass
class TelegramPoller:
    """getUpdates in a loop on the leader; see the module docstring."""

    adapter: TelegramAdapter
    timeout: int = 25  # long-poll seconds
    limit: int = 100
    follower_wait: float = 1.0
    backoff_cap: float = 60.0
    offset: int | None = None
    batches: int = 0  # completed batches, for tests and logs
    rounds: int = 0  # loop iterations, leader or not
    _failures: int = field(default=0, repr=False)
    _prepared: bool = field(default=False, repr=False)

    @property
    def services(self) -> "Services":
        return self.adapter.services

    def is_leader(self) -> bool:
        return self.services.leader_status() == "self"

    async def load_offset(self) -> int | None:
        async with self.services.db.session() as session:
            value = await kv.get(session, OFFSET_KEY)
        return int(value["offset"]) if value and value.get("offset") is not None else None

    async def save_offset(self, offset: int) -> None:
        async with self.services.db.session() as session:
            await kv.put(session, OFFSET_KEY, {"offset": offset})

    async def _backoff(self, reason: str, retry_after: float | None = None) -> None:
        self._failures += 1
        if retry_after is not None:
            delay = retry_after
        else:
            cap = min(self.backoff_cap, 2.0 ** min(self._failures, 6))
            delay = random.uniform(cap / 2, cap)
        log.warning("telegram polling: %s; next try in %.1fs", reason, delay)
        await asyncio.sleep(delay)

    async def _prepare(self) -> None:
        """Once: check the token (getMe) and drop a webhook (getUpdates refuses while one is set)."""
        bot = self.adapter.bot
        await bot.initialize()
        await bot.delete_webhook(drop_pending_updates=False)
        log.info("telegram: long polling as @%s", bot.username)
        self._prepared = True

    async def run(self) -> None:
        while True:
            self.rounds += 1
            if not self.is_leader():
                self.offset = None  # another process polls; read its offset when we take over
                await asyncio.sleep(self.follower_wait)
                continue
            try:
                await self.poll_once()
                self._failures = 0
            except asyncio.CancelledError:
                raise
            except RetryAfter as exc:
                await self._backoff("flood control", _retry_after(exc))
            except Conflict as exc:
                await self._backoff(f"another getUpdates or a webhook is active ({self.adapter._clean(exc)})")
            except InvalidToken:
                await self._backoff("the bot token was rejected (check XIANGZHU_TELEGRAM_TOKEN)")
            except (NetworkError, TelegramError) as exc:
                await self._backoff(f"Bot API error: {self.adapter._clean(exc)}")
            except DatabaseUnavailable as exc:
                await self._backoff(f"database unavailable: {exc}")
            except Exception as exc:
                if is_db_unavailable(exc):
                    await self._backoff(f"database unavailable: {exc}")
                else:
                    log.exception("telegram polling failed")
                    await self._backoff(f"{type(exc).__name__}: {exc}")

    async def poll_once(self) -> int:
        """One getUpdates and its batch; returns how many updates came."""
        if not self._prepared:
            await self._prepare()
        if self.offset is None:
            self.offset = await self.load_offset()
        updates = await self.adapter.bot.get_updates(
            offset=self.offset, limit=self.limit, timeout=self.timeout, allowed_updates=ALLOWED_UPDATES)
        if not updates:
            return 0
        next_offset = await self.handle_batch(updates)
        if next_offset is not None and next_offset != self.offset:
            await self.save_offset(next_offset)
            self.offset = next_offset
        self.batches += 1
        return len(updates)

    async def handle_batch(self, updates: list[Update]) -> int | None:
        """Handle updates: chats concurrently, each chat in order. Returns the next offset:
        past the batch, or the first update that could not be stored (it and the rest come
        again; what was stored is then a duplicate). Raises DatabaseUnavailable after
        storing the offset of the stored prefix when nothing could be stored."""
        lanes: dict[Any, list[Update]] = {}
        for update in sorted(updates, key=lambda u: u.update_id):
            parsed_chat = _chat_key(update)
            lanes.setdefault(parsed_chat, []).append(update)
        failed: list[int] = []

        async def lane(items: list[Update]) -> None:
            for update in items:
                try:
                    await self.adapter.process_update(update)
                except DatabaseUnavailable:
                    failed.append(update.update_id)
                    return  # keep this chat's later updates for the redelivery, in order

        await asyncio.gather(*(lane(items) for items in lanes.values()))
        if failed:
            first = min(failed)
            if first != self.offset:
                await self._save_quietly(first)
            raise DatabaseUnavailable(f"update {first} could not be stored")
        return max(u.update_id for u in updates) + 1

    async def _save_quietly(self, offset: int) -> None:
        try:
            await self.save_offset(offset)
            self.offset = offset
        except Exception as exc:
            log.warning("telegram polling: could not store the offset: %s", exc)


def _chat_key(update: Update):
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return ("update", update.update_id)


# ── mounting ─────────────────────────────────────────────────────────────────────────────


def _reject(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)


def mount(app: FastAPI, services: "Services") -> TelegramAdapter | None:
    """Called by bot/app.py: on when XIANGZHU_TELEGRAM_TOKEN is set; the webhook route only in
    webhook mode (XIANGZHU_TELEGRAM_WEBHOOK_URL), which needs XIANGZHU_TELEGRAM_SECRET."""
    settings = services.settings
    mode = telegram_mode(settings)
    if mode == "off":
        return None
    if mode == "webhook" and not _SECRET_OK.match(settings.telegram_secret or ""):
        raise ValueError(
            "Config 'XIANGZHU_TELEGRAM_SECRET' must be set in webhook mode (XIANGZHU_TELEGRAM_WEBHOOK_URL is "
            "set): 1–256 characters of A–Z, a–z, 0–9, _ and -")
    adapter = services.channels.register(TelegramAdapter(services))
    app.state.telegram = adapter
    if mode != "webhook":
        return adapter
    expected = settings.telegram_secret.encode("utf-8")

    @app.post(WEBHOOK_PATH)
    async def telegram_webhook(request: Request):
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8")
        if not hmac.compare_digest(given, expected):
            return _reject(403, "wrong or missing secret token")
        body = await request.body()
        if len(body) > MAX_WEBHOOK_BODY:
            return _reject(413, "update too large")
        try:
            data = json.loads(body)
            update = adapter.parse_json(data)
        except Exception:
            return _reject(400, "not a Telegram update")
        if update is None:
            return _reject(400, "not a Telegram update")
        try:
            await adapter.process_update(update)
        except DatabaseUnavailable:
            return JSONResponse({"ok": False, "error": "database unavailable"}, status_code=503,
                                headers={"Retry-After": "2"})
        return {"ok": True}

    return adapter
