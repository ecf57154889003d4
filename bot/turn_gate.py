"""The cap on turns running at once in this process (`XIANGZHU_MAX_TURNS`).

A turn is CPU on the one event loop (the NLU, the flows, SQLAlchemy) and, on PostgreSQL, a
pooled connection held from its first statement to COMMIT. Many turns started together do not
finish sooner: they take turns on the loop, each holds its connection (and its row locks)
longer, and a burst can empty the pool. So at most `limit` turns run; the rest wait here in
arrival order, holding nothing — not even their NLU parse, which runs once a turn is let in.

How far behind the process is, `expected_wait()`, tells the REST webhook when to refuse a new
message with 503 instead of answering it many seconds later (bot/dispatcher.py, docs/
performance.md): the longer of what the oldest waiting message has already waited and what
the line will take at the recent pace (the time between two turns finishing while messages
wait, averaged).

`async with gate:` is one turn, or `await gate.enter(arrived)` … `gate.leave()` (plain
methods, not a generator: they run for every message).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable

__all__ = ["TurnGate"]

_PACE_WEIGHT = 0.05  # how much one interval moves the average


class TurnGate:
    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic):
        self.limit = max(1, limit)
        self.clock = clock  # monotonic seconds; a test may give its own
        self.running = 0
        self.pace = 0.0  # seconds between two turns finishing while messages wait (moving average)
        self._last_done: float | None = None  # when the last turn finished, if messages were waiting
        self._waiting: deque[tuple[float, asyncio.Future]] = deque()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def expected_wait(self) -> float:
        """Seconds a message arriving now would wait before its turn starts (an estimate)."""
        if not self._waiting:
            return 0.0
        oldest = self.clock() - self._waiting[0][0]
        return max(oldest, len(self._waiting) * self.pace)

    async def enter(self, arrived: float | None = None) -> None:
        """Start one of at most `limit` turns, or wait in line for a free slot. The line is
        by arrival (`arrived`, on `clock`; now when not given): a message that first waited
        behind its sender's earlier one (the dispatcher's lane) is not put at the back again."""
        if self.running < self.limit and not self._waiting:
            self.running += 1
            return
        entry = (self.clock() if arrived is None else arrived, asyncio.get_running_loop().create_future())
        waiting = self._waiting
        i = len(waiting)
        while i and waiting[i - 1][0] > entry[0]:
            i -= 1
        waiting.insert(i, entry)
        try:
            await entry[1]  # a finishing turn hands its slot over: `running` stays
        except asyncio.CancelledError:
            if entry[1].done() and not entry[1].cancelled():
                self._release()  # handed over, then cancelled: pass it on
            elif entry in waiting:  # (a finishing turn may have dropped it already)
                waiting.remove(entry)
            raise

    def leave(self) -> None:
        """The turn is over: its slot goes to the first in line."""
        if self._waiting:
            now = self.clock()
            if self._last_done is not None:
                interval = now - self._last_done
                self.pace = interval if not self.pace else self.pace + _PACE_WEIGHT * (interval - self.pace)
            self._last_done = now
        else:
            self._last_done = None  # the line is empty: the next one starts a new measure
        self._release()

    async def __aenter__(self) -> None:
        await self.enter()

    async def __aexit__(self, *exc_info) -> None:
        self.leave()

    def _release(self) -> None:
        while self._waiting:
            _, future = self._waiting.popleft()
            if not future.done():
                future.set_result(None)
                return
        self.running -= 1
