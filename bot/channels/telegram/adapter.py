"""The Telegram adapter: an update handled durably (webhook or polling), a message sent (split
at 4096, inline choices or the main-menu keyboard, media from the store), Bot API errors as
send errors."""
from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import random
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.request import HTTPXRequest

from bot.channel_store import ChannelStore
from bot.channels.base import ChannelAdapter, PermanentSendError, RecipientUnreachable, RetryableSendError
from bot.channels.telegram.bot_api import (
    ALLOWED_UPDATES,
    CHANNEL,
    GROUP_PER_MINUTE,
    LOGGERS_WITH_URLS,
    MAX_CALLBACK_DATA,
    MAX_DOWNLOAD,
    RedactToken,
    file_base_url,
    retry_after,
    telegram_mode,
)
from bot.channels.telegram.polling import TelegramPoller
from bot.channels.telegram.text import split_text
from bot.channels.telegram.updates import MAIN_MENU, FileToFetch, parse_update
from bot.media import MediaStore
from vocab.errors import DatabaseUnavailable
from vocab.messages import Attachment, Button, Inbound, Outbound

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["TelegramAdapter"]

log = logging.getLogger("xiangzhu.telegram")


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
        for name in LOGGERS_WITH_URLS:
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
        for name in LOGGERS_WITH_URLS:
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
                await self.services.channel_store.mark_unreachable(CHANNEL, str(parsed.chat_id),
                                                                   parsed.kind == "blocked")
                log.info("telegram: chat %s %s the bot", parsed.chat_id, parsed.kind)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            if ChannelStore.unavailable(exc):
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
            raise RetryableSendError(f"flood control: {self._clean(exc)}", retry_after=retry_after(exc)) from exc
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
