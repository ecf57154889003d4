"""The outbox sender: drains `outbox` rows to channel adapters after their transaction commits.

- Order per recipient: each claim takes only the oldest unsent row of a recipient
  (storage/outbox.claim_heads), so message n+1 never leaves before message n was sent or given up.
- Rate limits come from the adapter: a token bucket per channel (`rate_per_second`, `burst`)
  and a minimum interval per recipient (`per_recipient_per_second`).
- Failures: `RetryableSendError` (or any unexpected error) → back to `pending` after an
  exponential back-off with jitter (or the adapter's `retry_after`), until `max_attempts`;
  `DeliveryHeld` → `held` until the recipient writes again (the channel releases it) or the
  adapter's `retry_after` passes; `PermanentSendError` → `failed`; `RecipientUnreachable` →
  `failed` and the identity marked unreachable.
- At least once: a process that dies mid-send leaves rows `sending`; after `lease` any sender
  puts them back to `pending`.
- No database connection is held while sending: claim in one transaction, send, record the
  outcomes in another.
"""
from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.channels.base import DeliveryHeld, PermanentSendError, RecipientUnreachable, RetryableSendError
from vocab.messages import Attachment, Button, Outbound
from storage import outbox as outbox_store
from storage import people

if TYPE_CHECKING:
    from bot.services import Services

__all__ = ["OutboxSender", "TokenBucket", "outbound_from_row"]

log = logging.getLogger("xiangzhu.outbox")


class TokenBucket:
    """`rate` tokens per second, at most `burst` saved up. `acquire` waits for one token."""

    def __init__(self, rate: float, burst: int = 1):
        self.rate = float(rate)
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


@dataclass
class _Outcome:
    row_id: int
    channel: str
    recipient: str
    status: str  # sent | retry | held | failed | unreachable
    error: str = ""
    delay: float = 0.0


class OutboxSender:
    def __init__(
        self,
        services: "Services",
        *,
        batch: int = 100,
        max_attempts: int = 8,
        backoff_base: float = 1.0,
        backoff_cap: float = 300.0,
        send_timeout: float = 30.0,
        lease: timedelta = timedelta(minutes=2),
        poll_seconds: float | None = None,
    ):
        self.services = services
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch = batch
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.send_timeout = send_timeout
        self.lease = lease
        self.poll_seconds = poll_seconds if poll_seconds is not None else services.settings.outbox_poll_seconds
        self._event = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._stopping = False
        self._buckets: dict[str, TokenBucket] = {}
        self._next_for_recipient: dict[tuple[str, str], float] = {}
        self._last_stale_check = 0.0

    # lifecycle ---------------------------------------------------------------------------

    def wake(self) -> None:
        self._event.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, grace: float = 10.0) -> None:
        """Let the round in progress finish recording what it sent (a message sent but not
        marked would go out again after a restart); cancel it only after `grace` seconds."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._event.set()
        try:
            async with asyncio.timeout(grace):
                await asyncio.shield(task)
        except TimeoutError:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        finally:
            self._stopping = False

    async def _run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                n = await self.run_once()
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: wait and try again, never die
                failures += 1
                delay = min(30.0, self.poll_seconds * 2 ** min(failures, 6))
                log.warning("outbox sender: %s; retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            if n == 0:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
                # that arrives together with its timeout, and stop() would wait forever
                try:
                    async with asyncio.timeout(self.poll_seconds):
                        await self._event.wait()
                except TimeoutError:
                    pass
                self._event.clear()

    # one round ---------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim due head-of-line rows, send them, record what happened. Returns how many
        rows were tried."""
        s = self.services
        channels = s.channels.pushing()
        if not channels:
            return 0
        now = s.clock()
        async with s.db.session() as session:
            if time.monotonic() - self._last_stale_check > min(30.0, self.lease.total_seconds() / 2):
                self._last_stale_check = time.monotonic()
                released = await outbox_store.release_stale(session, now=now, lease=self.lease)
                if released:
                    log.warning("outbox: %d rows left in flight by a stopped sender will be sent again", released)
            rows = await outbox_store.claim_heads(session, channels=channels, worker=self.worker, now=now, limit=self.batch)
            jobs = [(r.id, r.attempts, outbound_from_row(r)) for r in rows]
        if not jobs:
            return 0
        outcomes = await asyncio.gather(*(self._send(row_id, attempts, out) for row_id, attempts, out in jobs))
        now = s.clock()
        async with s.db.session() as session:
            await outbox_store.mark_sent_many(session, [o.row_id for o in outcomes if o.status == "sent"], now)
            for o in outcomes:
                if o.status == "sent":
                    continue
                elif o.status == "retry":
                    await outbox_store.mark_retry(session, o.row_id, now + timedelta(seconds=o.delay), o.error)
                elif o.status == "held":
                    await outbox_store.mark_held(session, o.row_id, now + timedelta(seconds=o.delay), o.error)
                else:
                    await outbox_store.mark_failed(session, o.row_id, o.error)
                    if o.status == "unreachable":
                        await people.mark_unreachable(session, o.channel, o.recipient)
        for o in outcomes:
            if o.status == "sent":
                s.metrics.outbound(o.channel)
            elif o.status in ("failed", "unreachable"):
                s.metrics.send_failed(o.channel)
        return len(jobs)

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt `attempts + 1`: exponential, capped, with jitter."""
        delay = min(self.backoff_cap, self.backoff_base * 2 ** max(0, attempts - 1))
        return random.uniform(delay / 2, delay)

    async def _pace(self, channel: str, recipient: str, adapter) -> None:
        if adapter.rate_per_second:
            bucket = self._buckets.get(channel)
            if bucket is None:
                bucket = self._buckets[channel] = TokenBucket(adapter.rate_per_second, adapter.burst)
            await bucket.acquire()
        if adapter.per_recipient_per_second:
            key = (channel, recipient)
            wait = self._next_for_recipient.get(key, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_for_recipient[key] = time.monotonic() + 1.0 / adapter.per_recipient_per_second
            if len(self._next_for_recipient) > 10_000:
                cutoff = time.monotonic()
                self._next_for_recipient = {k: v for k, v in self._next_for_recipient.items() if v > cutoff}

    async def _send(self, row_id: int, attempts: int, out: Outbound) -> _Outcome:
        adapter = self.services.channels.get(out.channel)
        if adapter is None:
            return _Outcome(row_id, out.channel, out.recipient, "retry", "channel not running", self.backoff(attempts))
        try:
            await self._pace(out.channel, out.recipient, adapter)
            async with asyncio.timeout(self.send_timeout):
                await adapter.send(out)
            return _Outcome(row_id, out.channel, out.recipient, "sent")
        except RecipientUnreachable as exc:
            log.warning("outbox %d: recipient unreachable on %s: %s", row_id, out.channel, exc)
            return _Outcome(row_id, out.channel, out.recipient, "unreachable", f"unreachable: {exc}")
        except DeliveryHeld as exc:
            if attempts >= self.max_attempts:
                log.error("outbox %d: giving up after %d attempts: %s", row_id, attempts, exc)
                return _Outcome(row_id, out.channel, out.recipient, "failed", str(exc))
            log.info("outbox %d: held (%s)", row_id, exc)
            return _Outcome(row_id, out.channel, out.recipient, "held", str(exc), exc.retry_after)
        except PermanentSendError as exc:
            log.error("outbox %d: %s refused the message: %s", row_id, out.channel, exc)
            return _Outcome(row_id, out.channel, out.recipient, "failed", str(exc))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            retry_after = getattr(exc, "retry_after", None) if isinstance(exc, RetryableSendError) else None
            error = f"{type(exc).__name__}: {exc}"
            if attempts >= self.max_attempts:
                log.error("outbox %d: giving up after %d attempts: %s", row_id, attempts, error)
                return _Outcome(row_id, out.channel, out.recipient, "failed", error)
            delay = float(retry_after) if retry_after is not None else self.backoff(attempts)
            log.info("outbox %d: attempt %d failed (%s); next in %.2fs", row_id, attempts, error, delay)
            return _Outcome(row_id, out.channel, out.recipient, "retry", error, delay)


def outbound_from_row(row) -> Outbound:
    """An outbox row as the `Outbound` an adapter sends."""
    return Outbound(
        channel=row.channel,
        recipient=row.recipient,
        text=row.text,
        buttons=tuple(Button(b.get("title", ""), b.get("payload", "")) for b in row.buttons or []),
        attachments=tuple(Attachment(**a) for a in row.attachments or []),
    )
