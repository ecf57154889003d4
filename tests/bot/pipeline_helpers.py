"""Helpers for the pipeline tests (imported as a plain module: tests/ has no packages)."""
from __future__ import annotations

import asyncio
import inspect
import time
from contextlib import asynccontextmanager

import httpx

from bot.app import create_app
from bot.config import load_settings
from bot.services import Services
from bot.standin import StandinHandler, StandinNLU


def make_services(db, *, handler=None, settings_overrides=None, **kwargs) -> Services:
    settings = load_settings(database_url=db.url, **(settings_overrides or {}))
    kwargs.setdefault("sender_options", {"poll_seconds": 0.02, "backoff_base": 0.01, "backoff_cap": 0.05})
    kwargs.setdefault("emergency_detector", None)
    return Services(settings, db, nlu=StandinNLU(), handler=handler or StandinHandler(), **kwargs)


@asynccontextmanager
async def running(services: Services, headers: dict | None = None, extensions: list[str] | None = ()):
    """The app with its lifespan (adapters, outbox sender) running, and a client for it.
    By default without the extensions (scheduler, messengers, staff web): these tests are
    about the pipeline."""
    app = create_app(services=services, extensions=None if extensions is None else list(extensions))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers or {}) as client:
            yield client


async def eventually(check, timeout: float = 10.0, interval: float = 0.02):
    """Poll `check()` (sync or async) until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last: {result!r})")
        await asyncio.sleep(interval)
