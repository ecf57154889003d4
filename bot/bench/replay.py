"""`xiangzhu bench replay`: the realistic mix in process, one message at a time, at a fixed
clock — for comparing two trees by what they compute and what it costs, on a shared machine.

The app is built with `create_app` and its lifespan runs (the outbox sender included); each
message goes to the REST fast route (`rest.fast_webhook`) as an ASGI call, so HTTP parsing and
uvicorn are not counted. Message i is handled at `start + i × 0.2 s` (the services' clock).
Nothing runs on the real clock, whose pace depends on the machine's load (and is fifty times
slower under callgrind): the scheduler extension is left out and the due timers are claimed
and run every `TIMER_EVERY` messages (once a second of the fixed clock, the default poll), and
the outbox sender runs when a message wakes it, not on its poll. So two runs of the same tree
on copies of the same seeded SQLite file compute the same replies and write the same rows.
The result:

* `replies_sha256`: every reply body, in order;
* `rows_sha256` and `tables`: each table's rows, sorted, without the columns that follow the
  real clock or the scheduler's timing (`VOLATILE`);
* `cpu_ms_per_message` over the measured messages (after `warm`): process CPU, so only an
  A/B in one sitting says anything on a loaded machine;
* with `callgrind=True` (run under `valgrind --tool=callgrind --instr-atstart=no
  --collect-atstart=no`), instrumentation is switched on for the measured messages only,
  through a three-line C library compiled on first use (needs `cc` and valgrind's headers):
  instruction counts do not depend on the machine's load.
"""
from __future__ import annotations

import asyncio
import ctypes
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bot.bench.workload import Workload

__all__ = ["VOLATILE", "Replayed", "replay"]

STEP = timedelta(seconds=0.2)  # between two messages, on the fixed clock
TIMER_EVERY = 5  # messages: the timers are run once a second of the fixed clock
# columns written from the real clock (models' defaults; a cancelled timer's done_at)
VOLATILE = frozenset({"at", "created_at", "updated_at", "expires_at", "timers.done_at"})

_TOGGLE_C = """#include <valgrind/callgrind.h>
void cg_on(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_TOGGLE_COLLECT; }
void cg_off(void) { CALLGRIND_TOGGLE_COLLECT; CALLGRIND_STOP_INSTRUMENTATION; }
"""


@dataclass
class Replayed:
    messages: int
    replies_sha256: str
    rows_sha256: str
    tables: dict[str, str]  # table → sha256 of its rows
    cpu_ms_per_message: float

    def as_dict(self) -> dict:
        return {"messages": self.messages, "replies_sha256": self.replies_sha256, "rows_sha256": self.rows_sha256,
                "cpu_ms_per_message": round(self.cpu_ms_per_message, 3), "tables": self.tables}


def _callgrind_toggles(workdir: Path):
    source, library = workdir / "toggle.c", workdir / "libtoggle.so"
    source.write_text(_TOGGLE_C)
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source)], check=True)
    return ctypes.CDLL(str(library))


def _request(i: int, sender: int, text: str):
    body = json.dumps({"sender": f"r-{sender}", "message": text, "metadata": {"message_id": f"r-m{i}"}},
                      ensure_ascii=False).encode()
    scope = {"type": "http", "method": "POST", "path": "/webhooks/rest/webhook",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    return scope, receive


async def _drive(app, services, clock: list, start: datetime, plan, warm: int, toggles) -> tuple[str, float]:
    from bot.scheduler import claim_and_run_timers

    digest = hashlib.sha256()
    started = time.process_time()
    async with app.router.lifespan_context(app):
        for i, (sender, text) in enumerate(plan):
            clock[0] = start + STEP * i
            if i == warm:
                started = time.process_time()
                if toggles is not None:
                    toggles.cg_on()
            scope, receive = _request(i, sender, text)
            out = []

            async def send(message):
                if message["type"] == "http.response.body":
                    out.append(message["body"])

            await app(scope, receive, send)
            digest.update(b"".join(out) + b"\n")
            await asyncio.sleep(0)  # the woken outbox sender gets its turn
            if i % TIMER_EVERY == TIMER_EVERY - 1:
                await claim_and_run_timers(services, claimer="replay")
        if toggles is not None:
            toggles.cg_off()
        used = time.process_time() - started
    return digest.hexdigest(), used


def _digest(name: str, columns: list[str], rows) -> str:
    keep = [i for i, c in enumerate(columns) if c not in VOLATILE and f"{name}.{c}" not in VOLATILE]
    lines = sorted(json.dumps([row[i] for i in keep], default=str, ensure_ascii=False) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def pg_table_digests(url: str) -> dict[str, str]:
    """`table_digests` of a PostgreSQL database (its public schema)."""
    import psycopg

    out = {}
    with psycopg.connect(url) as con:
        names = [n for (n,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        for name in names:
            cur = con.execute(f'SELECT * FROM "{name}"')
            out[name] = _digest(name, [d.name for d in cur.description], cur.fetchall())
    return out


def table_digests(path: Path) -> dict[str, str]:
    """Each table's rows, sorted, without the `VOLATILE` columns."""
    out = {}
    with sqlite3.connect(path) as con:
        names = [n for (n,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for name in names:
            columns = [r[1] for r in con.execute(f"PRAGMA table_info('{name}')")]
            out[name] = _digest(name, columns, con.execute(f"SELECT * FROM '{name}'"))
    return out


@contextmanager
def _pg_copy(url: str):
    """A copy of the PostgreSQL database at `url` (CREATE DATABASE … TEMPLATE), dropped after:
    its asyncpg URL and its psycopg URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    copy = f"{u.database}_replay_{os.getpid()}"  # two replays at once do not share a copy
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{copy}" TEMPLATE "{u.database}"')
    try:
        yield (u.set(drivername="postgresql+asyncpg", database=copy).render_as_string(hide_password=False),
               u.set(drivername="postgresql", database=copy).render_as_string(hide_password=False))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)')


def replay(seeded: Path | str, *, start: datetime, messages: int, warm: int = 80, senders: int = 500, seed: int = 1,
           callgrind: bool = False) -> Replayed:
    """Replay `warm + messages` messages of the realistic workload on a copy of the seeded
    SQLite file `seeded`, or of the seeded PostgreSQL database at the URL `seeded` (left as
    it was), the clock at `start` (timezone-aware)."""
    from bot import scheduler
    from bot.app import EXTENSIONS, create_app
    from bot.config import Settings
    from bot.services import build_services

    scheduler.load_job_modules()  # the timer handlers register on import
    plan = Workload("realistic", senders, seed).plan(warm + messages)
    postgres = isinstance(seeded, str) and seeded.startswith("postgresql")
    with tempfile.TemporaryDirectory(prefix="xiangzhu-replay-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        if postgres:
            url, read_url = stack.enter_context(_pg_copy(seeded))
        else:
            db = work / "replay.db"
            shutil.copyfile(seeded, db)
            url = f"sqlite+aiosqlite:///{db}"
        toggles = _callgrind_toggles(work) if callgrind else None
        # the outbox sender's poll on the real clock out of the way: each message wakes it
        settings = Settings(database_url=url, outbox_poll_seconds=3600)
        clock = [start]
        services = build_services(settings, clock=lambda: clock[0])
        app = create_app(settings, services=services, extensions=[m for m in EXTENSIONS if m is not scheduler])
        replies, used = asyncio.run(_drive(app, services, clock, start, plan, warm, toggles))
        tables = pg_table_digests(read_url) if postgres else table_digests(db)
    rows = hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()
    return Replayed(messages, replies, rows, tables, 1000 * used / max(1, messages))
