"""Long polling: getUpdates in a loop on the leader process; each batch handled and committed
before the next offset is stored and asked for (see the package docstring)."""
from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError

from bot.channel_store import ChannelStore
from bot.channels.telegram.bot_api import ALLOWED_UPDATES, OFFSET_KEY, retry_after
from vocab.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from bot.channels.telegram.adapter import TelegramAdapter
    from bot.services import Services

__all__ = ["TelegramPoller"]

log = logging.getLogger("xiangzhu.telegram")


@dataclass
class TelegramPoller:
    """getUpdates in a loop on the leader; see the package docstring."""

    adapter: "TelegramAdapter"
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
        value = await self.services.channel_store.state(OFFSET_KEY)
        return int(value["offset"]) if value and value.get("offset") is not None else None

    async def save_offset(self, offset: int) -> None:
        await self.services.channel_store.set_state(OFFSET_KEY, {"offset": offset})

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
                await self._backoff("flood control", retry_after(exc))
            except Conflict as exc:
                await self._backoff(f"another getUpdates or a webhook is active ({self.adapter._clean(exc)})")
            except InvalidToken:
                await self._backoff("the bot token was rejected (check XIANGZHU_TELEGRAM_TOKEN)")
            except (NetworkError, TelegramError) as exc:
                await self._backoff(f"Bot API error: {self.adapter._clean(exc)}")
            except DatabaseUnavailable as exc:
                await self._backoff(f"database unavailable: {exc}")
            except Exception as exc:
                if ChannelStore.unavailable(exc):
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
