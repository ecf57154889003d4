"""What tests share, in one place: the app running in-process, waiting for an outcome (never a
fixed sleep), a free port, the local PostgreSQL server, the demo SQLite database of the served
subprocesses, and the area tree builder. The
database fixtures themselves (`db_url`, `db`, `empty_db_url`) are in tests/conftest.py."""
from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

PG_ADMIN_DSN = os.environ.get("XIANGZHU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


# ── the app in-process ───────────────────────────────────────────────────────────────────


@asynccontextmanager
async def running(services, *, headers: dict | None = None, extensions: list | tuple | None = None):
    """The app with its lifespan (adapters, hooks, outbox sender) running, and a client for it.
    `extensions=None` mounts every extension module, as `xiangzhu serve` does; `()` mounts none."""
    from bot.app import create_app

    app = create_app(services=services, extensions=None if extensions is None else list(extensions))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers or {}) as client:
            client.app = app
            yield client


# ── waiting for an outcome ───────────────────────────────────────────────────────────────


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


def wait_until(predicate, timeout: float = 30.0, what: str = "condition", interval: float = 0.05):
    """`eventually` for code outside an event loop (subprocesses, servers): poll `predicate()`
    until it returns something truthy, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout}s")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ── the local PostgreSQL server ──────────────────────────────────────────────────────────


def pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def require_pg() -> None:
    """Skip the test when PostgreSQL does not answer (fail under CI=true)."""
    if not pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL does not answer at {PG_ADMIN_DSN} (run `make postgres`)")
        pytest.skip("PostgreSQL not available")


def pg_url(name: str) -> str:
    """The async URL of database `name` on the local server."""
    return f"{PG_ADMIN_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+asyncpg://')}/{name}"


def create_pg_database(template: str | None = None) -> str:
    """A fresh PostgreSQL database (a copy of `template` when given); returns its async URL."""
    require_pg()
    name = f"xz_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return pg_url(name)


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class PgDatabases:
    """Fresh PostgreSQL databases for tests, without a test waiting for the slow parts: each is
    a copy of a template (CREATE DATABASE … TEMPLATE, no migration per test); the copy for the
    next test is made in the background while this one runs, and databases are dropped in the
    background, several at once: every DROP DATABASE waits for a checkpoint (seconds on a busy
    disk), and drops that wait together share one. One instance per pytest session (the `pg_databases` fixture); `close()` waits
    for the background work and drops what is left, templates last."""

    DROP_THREADS = 8
    MAX_PENDING_DROPS = 32  # a test waits when dropping falls this far behind

    def __init__(self):
        self._creating = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-create")
        self._dropping = ThreadPoolExecutor(max_workers=self.DROP_THREADS, thread_name_prefix="pg-drop")
        self._next: dict[str, Future] = {}  # template name → the copy being made for the next test
        self._drops: list[Future] = []
        self._templates: list[str] = []

    def template(self, build) -> str:
        """A new template database: `build(url)` fills it (migrate, seed); returns its name.
        Whatever `build` opens must be closed when it returns (a template cannot be copied
        while someone is connected to it)."""
        url = create_pg_database()
        self._templates.append(url)
        build(url)
        return url.rsplit("/", 1)[1]

    def copy(self, template: str) -> str:
        """The URL of a fresh copy of `template`, this test's alone."""
        require_pg()
        ready = self._next.pop(template, None)
        url = ready.result() if ready is not None else create_pg_database(template)
        self._next[template] = self._creating.submit(create_pg_database, template)
        return url

    def drop(self, url: str) -> None:
        """Drop `url` in the background."""
        pending = []
        for f in self._drops:
            if f.done():
                f.result()  # raises if that drop failed
            else:
                pending.append(f)
        self._drops = pending
        if len(self._drops) >= self.MAX_PENDING_DROPS:
            self._drops.pop(0).result()
        self._drops.append(self._dropping.submit(drop_pg_database, url))

    def close(self) -> None:
        leftover = [f.result() for f in self._next.values()]
        self._creating.shutdown()
        for url in leftover:
            self.drop(url)
        self._dropping.shutdown()
        for f in self._drops:
            f.result()  # raises the first drop that failed
        for url in self._templates:
            drop_pg_database(url)


# ── the demo database of the served subprocesses ─────────────────────────────────────────


class DemoDatabases:
    """`xiangzhu seed --demo` into a copy of the session's migrated SQLite file `template`, once
    per session (once more if the day in Asia/Shanghai has turned since: the demo data is dated
    from today), copied for each module's `xiangzhu serve` (web browser tests, Telegram emulator
    tests)."""

    def __init__(self, tmp: Path, template: Path):
        self.tmp, self.template = tmp, template
        self.built: dict[date, Path] = {}

    def copy_to(self, target: Path) -> None:
        from bot.config import load_settings

        today = datetime.now(ZoneInfo(load_settings().timezone)).date()
        if today not in self.built:
            path = self.tmp / f"demo-{today}.db"
            shutil.copyfile(self.template, path)
            subprocess.run([sys.executable, "-m", "bot.cli", "seed", "--demo"], check=True, capture_output=True,
                           timeout=180, env={**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{path}"})
            self.built[today] = path
        shutil.copyfile(self.built[today], target)


# ── the area tree ────────────────────────────────────────────────────────────────────────


async def add_areas(s, *rows: tuple) -> dict:
    """Areas from `(code, name, level, parent_code[, name_en])` rows, parents first; returns
    {code: Area} (flushed, ids set)."""
    from storage.models import Area

    made: dict = {}
    for code, name, level, parent, *rest in rows:
        area = Area(code=code, name=name, level=level, parent_id=made[parent].id if parent else None,
                    **({"name_en": rest[0]} if rest else {}))
        s.add(area)
        await s.flush()
        made[code] = area
    return made
