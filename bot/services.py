"""Everything a turn needs, built once per process: settings, database, NLU, emergency
detector, turn handler, clock, channel adapters, metrics, the dispatcher and the outbox sender.

The real NLU (`nlu/`) and flow engine (`flows/`) are used when they can be imported; until
then the keyword stand-in in bot/standin.py answers. Tests build `Services(...)` directly and
pass their own handler, clock or adapters.

Contracts with the other packages (looked up by name, so bot/ never needs editing when they land):
- `nlu.backend.load_backend(kind, rasa_url, cache_dir)` (or `nlu.NLU.load(cache_dir)`) → an
  object with `parse(text, now) -> ParseResult`
- `nlu.emergency.detect(text)` → an object with `.is_emergency`
- `flows.runtime.FlowRuntime.from_services(services)` (or `FlowRuntime(services)`) → a TurnHandler
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import logging
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

from bot.channels.base import ChannelRegistry
from bot.config import Settings
from bot.dispatcher import Dispatcher, RelayHook, relay_to_worker
from bot.metrics import Metrics
from bot.outbox import OutboxSender
from bot.standin import StandinHandler, StandinNLU
from bot.turn import TurnHandler
from storage.db import Database

__all__ = ["Services", "build_emergency_detector", "build_handler", "build_nlu", "build_services", "utc_now"]

log = logging.getLogger("xiangzhu.services")

_DEFAULT: Any = object()


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _module(name: str):
    """The module if it exists, else None (a missing parent package counts as missing)."""
    try:
        if importlib.util.find_spec(name) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(name)


def build_nlu(settings: Settings):
    """`nlu.backend.load_backend` (built-in or Rasa per XIANGZHU_NLU), else `nlu.NLU.load`,
    else the keyword stand-in."""
    backend = _module("nlu.backend")
    if backend is not None and hasattr(backend, "load_backend"):
        return backend.load_backend(settings.nlu, settings.rasa_url, settings.nlu_cache_dir)
    mod = _module("nlu")
    cls = getattr(mod, "NLU", None) if mod else None
    if cls is None:
        log.warning("nlu.NLU not found: using the keyword stand-in NLU")
        return StandinNLU()
    return cls.load(settings.nlu_cache_dir)


def build_emergency_detector(settings: Settings):
    mod = _module("nlu.emergency")
    return getattr(mod, "detect", None) if mod else None


def build_handler(services: "Services") -> TurnHandler:
    mod = _module("flows.runtime")
    cls = getattr(mod, "FlowRuntime", None) if mod else None
    if cls is None:
        log.warning("flows.runtime.FlowRuntime not found: using the keyword stand-in dialogue")
        return StandinHandler()
    factory = getattr(cls, "from_services", None)
    return factory(services) if factory else cls(services)


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
        self.extensions: list[str] = []
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
