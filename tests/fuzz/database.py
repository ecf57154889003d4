"""A demo-seeded database for the fuzzer (SQLite file or PostgreSQL database, dropped after)
and the real pipeline over it: the built-in flows, the mission actions, the real NLU and
emergency detector (the runner of the built-in conversation tests)."""
from __future__ import annotations

import tempfile
from contextlib import contextmanager
from pathlib import Path


from bot.conversation_tests import ConversationRunner
from storage import migrate
from tests.support import create_pg_database, drop_pg_database

BUILTIN = Path(__file__).resolve().parents[2] / "flows" / "builtin"


@contextmanager
def demo_database(kind: str):
    """The URL of a fresh database at the newest schema (the runner seeds the demo data)."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="xz-fuzz-") as tmp:
            url = f"sqlite+aiosqlite:///{tmp}/fuzz.db"
            migrate.upgrade(url)
            yield url
        return
    url = create_pg_database()
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_pg_database(url)


def fuzz_runner(url: str, nlu) -> ConversationRunner:
    from flows.registry import load_actions
    from nlu.emergency import detect

    return ConversationRunner(url, [BUILTIN], nlu=nlu, registry=load_actions(), emergency_detector=detect,
                              demo=True, migrate=False)
