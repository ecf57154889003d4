"""Talking to the Bot API: its limits, the channel's mode, the token kept out of logs, and how
long a 429 says to wait."""
from __future__ import annotations

import logging
import re
import warnings
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from telegram.error import RetryAfter

if TYPE_CHECKING:
    from bot.config import Settings

__all__ = [
    "ALLOWED_UPDATES", "CHANNEL", "GROUP_PER_MINUTE", "LOGGERS_WITH_URLS", "MAX_CALLBACK_DATA", "MAX_DOWNLOAD",
    "MAX_TEXT", "MAX_WEBHOOK_BODY", "OFFSET_KEY", "RedactToken", "SECRET_HEADER", "WEBHOOK_PATH", "file_base_url",
    "retry_after", "secret_ok", "telegram_mode",
]

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


def secret_ok(secret: str) -> bool:
    return bool(_SECRET_OK.match(secret))


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


LOGGERS_WITH_URLS = ("httpx", "telegram")


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the int/timedelta migration
        warnings.simplefilter("ignore")
        return _seconds(exc.retry_after)
