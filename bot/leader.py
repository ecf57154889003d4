"""Leader election: exactly one process runs the scheduler (timers and periodic jobs).

PostgreSQL: `pg_try_advisory_lock(LEADER_LOCK_KEY)` on a dedicated connection that lives as
long as the leadership. The server releases the lock when that connection dies, so a follower
that retries every `retry_seconds` takes over within seconds of a leader's death; the leader
checks its connection every `heartbeat_seconds` and steps down when it is gone.

SQLite: one server process per database file; an exclusive `flock` on `<db file>.leader`
makes that explicit (a second process on the same file stays a follower). An in-memory
database is always led by its only process.

The leader records itself in the `kv` table under `leader`: {pid, host, id, since, heartbeat}
(ISO times, UTC) for /healthz and `xiangzhu jobs list`.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from datetime import datetime, timedelta
from typing import Any, Awaitable, Callable

from sqlalchemy.engine import make_url

from storage import kv
from storage.db import Database, is_sqlite
from storage.models import utcnow

log = logging.getLogger("xiangzhu.leader")

LEADER_LOCK_KEY = 0x5A48_4C44  # "ZHLD": one bigint per application; any fixed value works
LEADER_KV_KEY = "leader"

Callback = Callable[[], Awaitable[None]]


def process_identity() -> str:
    """host:pid:random — names this process as a timer claimer and as leader."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class _PostgresLock:
    """The advisory lock on its own asyncpg connection (never a pooled one)."""

    def __init__(self, url: str, key: int):
        self._dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self._key = key
        self._conn = None

    async def try_acquire(self) -> bool:
        import asyncpg

        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(self._dsn, timeout=5)
        got = await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key)
        if not got:  # keep no idle connection per follower
            await self.release()
        return bool(got)

    async def still_held(self) -> bool:
        if self._conn is None or self._conn.is_closed():
            return False
        try:
            # asyncio.timeout, not wait_for: on 3.11 wait_for drops a cancellation that comes as
            # the query finishes, and Leader.stop() would wait for the campaign forever
            async with asyncio.timeout(5):
                return await self._conn.fetchval("SELECT 1") == 1
        except Exception:  # connection terminated: the server dropped the lock with it
            return False

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await conn.close()
        elif conn is not None:
            conn.terminate()


class _FileLock:
    """An exclusive, non-blocking flock next to the SQLite file."""

    def __init__(self, url: str):
        database = make_url(url).database
        self._path = None if not database or database == ":memory:" else f"{database}.leader"
        self._fh = None

    async def try_acquire(self) -> bool:
        if self._path is None:
            return True
        import fcntl

        fh = open(self._path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._fh = fh
        return True

    async def still_held(self) -> bool:
        return self._path is None or self._fh is not None

    async def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()  # closing drops the flock


class Leader:
    """Campaigns for leadership in the background; calls `on_elected` / `on_deposed`.

        leader = Leader(db, on_elected=scheduler.start, on_deposed=scheduler.stop)
        await leader.start()   # returns at once; `leader.is_leader` tells
        ...
        await leader.stop()    # steps down (on_deposed runs) and releases the lock
    """

    def __init__(
        self,
        db: Database,
        *,
        on_elected: Callback | None = None,
        on_deposed: Callback | None = None,
        retry_seconds: float = 2.0,
        heartbeat_seconds: float = 2.0,
        key: int = LEADER_LOCK_KEY,
        identity: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.db = db
        self.identity = identity or process_identity()
        self._on_elected = on_elected
        self._on_deposed = on_deposed
        self._retry = retry_seconds
        self._heartbeat = heartbeat_seconds
        self._clock = clock
        self._lock = _FileLock(db.url) if is_sqlite(db.url) else _PostgresLock(db.url, key)
        self._task: asyncio.Task | None = None
        self._since: datetime | None = None
        self.is_leader = False
        self.elected = asyncio.Event()
        self.rounds = 0  # completed election rounds: shows the campaign is alive
        self.known_leader: dict[str, Any] | None = None  # as a follower: the leader's record

    def status(self) -> str:
        """For /healthz: "self", "other:<host:pid:…>" or "none" (no fresh leader record)."""
        if self.is_leader:
            return "self"
        if self.known_leader:
            return f"other:{self.known_leader.get('id', '?')}"
        return "none"

    async def _read_record(self) -> None:
        async with self.db.session() as s:
            self.known_leader = await current_leader(s, now=utcnow())

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._campaign(), name="xiangzhu-leader")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            # cancelled again until it ends: a cancellation lost inside a library call must not
            # leave shutdown waiting for a campaign that goes on
            while not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=1.0)
            with contextlib.suppress(asyncio.CancelledError, Exception):
                task.result()
        if self.is_leader:
            await self._step_down(clear_record=True)
        await self._lock.release()

    async def _campaign(self) -> None:
        while True:
            try:
                if not self.is_leader:
                    if await self._lock.try_acquire():
                        await self._take_office()
                    else:
                        await self._read_record()
                elif not await self._lock.still_held():
                    log.warning("leadership lost (lock connection gone) / 失去领导权")
                    await self._step_down(clear_record=False)
                    await self._lock.release()
                else:
                    await self._record()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database down: try again on the next round
                log.warning("leader election round failed: %s", exc)
                if self.is_leader and not await self._lock.still_held():
                    await self._step_down(clear_record=False)
                    await self._lock.release()
            self.rounds += 1
            await asyncio.sleep(self._heartbeat if self.is_leader else self._retry)

    async def _take_office(self) -> None:
        self.is_leader = True
        self.known_leader = None
        self._since = self._clock()
        log.info("elected leader %s / 成为主进程", self.identity)
        with contextlib.suppress(Exception):
            await self._record()
        self.elected.set()
        if self._on_elected is not None:
            await self._on_elected()

    async def _step_down(self, *, clear_record: bool) -> None:
        self.is_leader = False
        self.elected.clear()
        if self._on_deposed is not None:
            try:
                await self._on_deposed()
            except Exception:
                log.exception("on_deposed failed")
        if clear_record:
            with contextlib.suppress(Exception):
                async with self.db.session() as s:
                    record = await kv.get(s, LEADER_KV_KEY)
                    if record and record.get("id") == self.identity:
                        await kv.put(s, LEADER_KV_KEY, {}, expires_at=self._clock())

    async def _record(self) -> None:
        now = self._clock()
        value = {
            "id": self.identity,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": (self._since or now).isoformat(),
            "heartbeat": now.isoformat(),
        }
        async with self.db.session() as s:
            # expires after three missed heartbeats: a dead leader stops being "known"
            await kv.put(s, LEADER_KV_KEY, value, expires_at=now + timedelta(seconds=max(10.0, 3 * self._heartbeat)))


async def current_leader(session, now: datetime | None = None) -> dict[str, Any] | None:
    """The leader record if its heartbeat is fresh, else None (for /healthz)."""
    value = await kv.get(session, LEADER_KV_KEY, now=now)
    return value or None
