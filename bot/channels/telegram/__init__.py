"""The Telegram channel (python-telegram-bot 22 as the Bot API client; the only package that
imports `telegram`).

    bot_api.py   the Bot API: its limits, the mode (polling / webhook), the token kept out of logs
    text.py      long texts split at sentence ends
    updates.py   an update as what the dispatcher should see (no I/O); the main-menu keyboard
    adapter.py   the adapter: handling an update, sending a message
    polling.py   long polling on the leader

    update ──parse_update()──▶ Inbound (+ files to fetch, a callback to answer)
           ──media store──▶ dispatcher.handle()  (records the message and the replies: commits)
    outbox row ──TelegramAdapter.send()──▶ sendMessage (split at 4096), inline keyboard or
           the main-menu reply keyboard, photos / voice / documents from the media store

Two ways in, chosen by configuration:

- Long polling (XIANGZHU_TELEGRAM_TOKEN set, no XIANGZHU_TELEGRAM_WEBHOOK_URL): our own loop
  of `Bot.get_updates`, not PTB's Updater (which confirms an offset before our transaction has
  committed). The loop runs on the leader process only (`services.leader_status()`); each batch
  is handled — different chats concurrently, one chat's updates in order — and committed
  before the next offset is stored (the channel store's state `telegram:offset`) and asked for. A crash redelivers at
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

Storage is reached only through the app's channel store (`services.channel_store`).
"""
from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.channels.telegram.adapter import TelegramAdapter
from bot.channels.telegram.bot_api import MAX_WEBHOOK_BODY, SECRET_HEADER, WEBHOOK_PATH, secret_ok, telegram_mode
from vocab.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["mount"]


def _reject(status: int, reason: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": reason}, status_code=status)


def mount(app: FastAPI, services: "Services") -> TelegramAdapter | None:
    """Called by bot/app.py: on when XIANGZHU_TELEGRAM_TOKEN is set; the webhook route only in
    webhook mode (XIANGZHU_TELEGRAM_WEBHOOK_URL), which needs XIANGZHU_TELEGRAM_SECRET."""
    settings = services.settings
    mode = telegram_mode(settings)
    if mode == "off":
        return None
    if mode == "webhook" and not secret_ok(settings.telegram_secret or ""):
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
