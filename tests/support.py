"""Helpers shared by tests that run the ASGI app in-process."""
from __future__ import annotations

import asyncio
import inspect
import time
from contextlib import asynccontextmanager

import httpx

from bot.app import create_app


@asynccontextmanager
async def running(services, *, headers: dict | None = None, extensions: list | tuple | None = None):
    """The app with its lifespan (adapters, hooks, outbox sender) running, and a client for it.
    `extensions=None` mounts every extension module, as `xiangzhu serve` does; `()` mounts none."""
    app = create_app(services=services, extensions=None if extensions is None else list(extensions))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers or {}) as client:
            client.app = app
            yield client


async def eventually(check, timeout: float = 15.0, interval: float = 0.02):
    """Poll `check()` (sync or async) until it returns something truthy or the deadline passes."""
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
