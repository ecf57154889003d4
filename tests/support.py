"""What tests share, in one place: the app running in-process, waiting for an outcome (never a
fixed sleep), a free port, the local PostgreSQL server, and the area tree builder. The
database fixtures themselves (`db_url`, `db`, `empty_db_url`) are in tests/conftest.py."""
from __future__ import annotations

import asyncio
import inspect
import os
import socket
import time
import uuid
from contextlib import asynccontextmanager

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
