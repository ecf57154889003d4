"""A demo-seeded database for the fuzzer (SQLite file or PostgreSQL database, dropped after)
and the real pipeline over it: the built-in flows, the mission actions, the real NLU and
emergency detector (the runner of the built-in conversation tests)."""
from __future__ import annotations

import os
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

from bot.conversation_tests import ConversationRunner
from storage import migrate

BUILTIN = Path(__file__).resolve().parents[2] / "flows" / "builtin"
PG_ADMIN_DSN = os.environ.get("XIANGZHU_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def demo_database(kind: str):
    """The URL of a fresh database at the newest schema (the runner seeds the demo data)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="xz-fuzz-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/fuzz.db"
            migrate.upgrade(url)
            yield url
        return
    name = f"xz_fuzz_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{PG_ADMIN_DSN.rsplit('/', 1)[0].replace('postgresql://', 'postgresql+asyncpg://')}/{name}"
        migrate.upgrade(url)
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fuzz_runner(url: str, nlu) -> ConversationRunner:
    from flows.registry import load_actions
    from nlu.emergency import detect

    return ConversationRunner(url, [BUILTIN], nlu=nlu, registry=load_actions(), emergency_detector=detect,
                              demo=True, migrate=False)
