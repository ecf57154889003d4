"""Everything a turn needs, built once per process: settings, database, NLU, emergency
detector, turn handler, clock, channel adapters and their store, metrics, the dispatcher and the
outbox sender.

The NLU is `nlu.backend.load_backend` (built-in or Rasa per XIANGZHU_NLU), the emergency
detector `nlu.emergency.detect`, the turn handler the flow engine (`flows.runtime.FlowRuntime`).
Tests build `Services(...)` directly and pass their own NLU, handler, clock or adapters.
"""
from __future__ import annotations

import inspect
import logging
from datetime import datetime, timezone
from types import ModuleType
from typing import Any, Awaitable, Callable

from bot.channel_store import ChannelStore
from bot.channels.base import ChannelRegistry
from bot.config import Settings
from bot.dispatcher import Dispatcher, RelayHook, relay_to_worker
from bot.metrics import Metrics
from bot.outbox import OutboxSender
from flows.turn import TurnHandler
from flows.runtime import FlowRuntime
from nlu.backend import load_backend
from nlu.emergency import detect
from storage.db import Database

__all__ = ["Services", "build_emergency_detector", "build_handler", "build_nlu", "build_services", "utc_now"]

log = logging.getLogger("xiangzhu.services")

_DEFAULT: Any = object()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def build_nlu(settings: Settings):
    """The NLU XIANGZHU_NLU names: the built-in one, or Rasa with the built-in one as fallback."""
    return load_backend(settings.nlu, settings.rasa_url, settings.nlu_cache_dir)


def build_emergency_detector(settings: Settings):
    return detect


def build_handler(services: "Services") -> TurnHandler:
    return FlowRuntime.from_services(services)


class Services:
    def __init__(
        self,
        settings: Settings,
        db: Database | None = None,
        *,
        nlu: Any = None,
        handler: TurnHandler | None = None,
        emergency_detector: Any = _DEFAULT,
        clock: Callable[[], datetime] | None = None,
        channels: ChannelRegistry | None = None,
        metrics: Metrics | None = None,
        relay: RelayHook | None = None,
        sender_options: dict | None = None,
    ):
        self.settings = settings
        # first: the builders below may register hooks
        self._on_start: list[Callable[[], Awaitable[None]]] = []
        self._on_stop: list[Callable[[], Awaitable[None]]] = []
        self._owns_db = db is None
        self.db = db if db is not None else Database(settings.database_url)
        self.channel_store = ChannelStore(self.db)  # all that channels may ask of storage
        self.nlu = nlu if nlu is not None else build_nlu(settings)
        self.emergency_detector = (
            build_emergency_detector(settings) if emergency_detector is _DEFAULT else emergency_detector
        )
        self.clock = clock or utc_now
        self.channels = channels if channels is not None else ChannelRegistry()
        self.metrics = metrics or Metrics()
        self.relay: RelayHook = relay or relay_to_worker
        self.handler: TurnHandler = handler if handler is not None else build_handler(self)
        self.dispatcher = Dispatcher(self)
        self.outbox = OutboxSender(self, **(sender_options or {}))
        # replaced by the scheduler extension: "self" | "other:<id>" | "none" | "unknown"
        self.leader_status: Callable[[], str] = lambda: "self" if self.db.is_sqlite else "unknown"
        self.extensions: list[ModuleType] = []  # those create_app mounted
        self.started = False

    def on_start(self, fn: Callable[[], Awaitable[None]]):
        """Run `await fn()` when the application starts (after the adapters started)."""
        self._on_start.append(fn)
        return fn

    def on_stop(self, fn: Callable[[], Awaitable[None]]):
        """Run `await fn()` when the application stops (in reverse order of registration)."""
        self._on_stop.append(fn)
        return fn

    def wake_outbox(self) -> None:
        self.outbox.wake()

    async def start(self, *, sender: bool = True) -> None:
        for adapter in self.channels:
            await adapter.start()
        for fn in self._on_start:
            result = fn()
            if inspect.isawaitable(result):
                await result
        if sender:
            await self.outbox.start()
        self.started = True

    async def stop(self) -> None:
        await self.outbox.stop()
        for fn in reversed(self._on_stop):
            try:
                result = fn()
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("a stop hook failed")
        for adapter in self.channels:
            try:
                await adapter.stop()
            except Exception:
                log.exception("stopping channel %s failed", adapter.name)
        if self._owns_db:
            await self.db.dispose()
        self.started = False


def build_services(settings: Settings, **overrides) -> Services:
    return Services(settings, **overrides)
