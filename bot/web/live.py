"""Live pages by server-sent events: a page names an event stream (htmx's SSE extension,
`sse-connect`); the stream re-renders the page's live fragments every
XIANGZHU_WEB_POLL_SECONDS and sends those that changed (`event: NAME`, the HTML as data).

Each poll signs the caller in again, so a stream ends when the session does. A stream also
ends after LIFETIME seconds (the browser reconnects), so no connection outlives a deploy
for long.
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import StreamingResponse

from bot.api.common import services_of
from bot.authz import Caller
from bot.web.rendering import page_caller

LIFETIME = 300.0
KEEPALIVE = 15.0

Fragments = Callable[[Caller], Awaitable[dict[str, str] | None]]


def event(name: str, html: str) -> str:
    """One SSE event; each line of the HTML is its own `data:` line."""
    lines = html.splitlines() or [""]
    return f"event: {name}\n" + "".join(f"data: {line}\n" for line in lines) + "\n"


def stream(request: Request, fragments: Fragments) -> StreamingResponse:
    """The event stream of a live page. `fragments(caller)` renders {event name: HTML}, or
    None when the page is gone for this caller (the stream ends)."""
    poll = max(0.05, float(services_of(request).settings.web_poll_seconds))

    async def events():
        yield "retry: 3000\n\n"
        sent: dict[str, str] = {}
        started = last_write = time.monotonic()
        while time.monotonic() - started < LIFETIME:
            if await request.is_disconnected():
                return
            who = await page_caller(request)
            rendered = await fragments(who) if who is not None else None
            if rendered is None:
                yield "event: gone\ndata: \n\n"
                return
            for name, html in rendered.items():
                if sent.get(name) != html:
                    sent[name] = html
                    last_write = time.monotonic()
                    yield event(name, html)
            if time.monotonic() - last_write > KEEPALIVE:
                last_write = time.monotonic()
                yield ": keep-alive\n\n"
            await asyncio.sleep(poll)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
