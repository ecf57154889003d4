"""Fixtures for the mission's tests: a database with the demo data (storage.demo.seed_demo)
and the built-in flows, on SQLite and on PostgreSQL, built once per session per backend and
copied for each test (a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL); the
real NLU with the demo villages and activities in its gazetteer."""
from __future__ import annotations

import asyncio
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import require_pg

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # the runner's clock: Monday 10:00 in China
BUILTIN = Path(__file__).resolve().parents[2] / "flows" / "builtin"


async def _seed(url: str) -> list:
    from flows.store import seed_builtin
    from storage.db import Database
    from storage.demo import seed_demo
    from storage.models import Activity, Area

    db = Database(url)
    try:
        async with db.session() as s:
            report = await seed_demo(s, NOW.date(), flows=seed_builtin)
            assert not report.problems, report.problems
            villages = [(a.id, a.name, [a.name_en, *(a.aliases or [])])
                        for a in (await s.execute(select(Area).where(Area.level == "village"))).scalars()]
            acts = [(a.id, a.title, [a.title_en, *(a.aliases or [])])
                    for a in (await s.execute(select(Activity))).scalars()]
    finally:
        await db.dispose()
    return [acts, villages]


class _Templates:
    def __init__(self, tmp: Path, pg_databases):
        self.tmp = tmp
        self.pg_databases = pg_databases
        self.sqlite: Path | None = None
        self.pg: str | None = None
        self.gazetteer: list | None = None

    def sqlite_template(self) -> Path:
        if self.sqlite is None:
            from storage import migrate

            path = self.tmp / "mission-template.db"
            url = f"sqlite+aiosqlite:///{path}"
            migrate.upgrade(url)
            self.gazetteer = asyncio.run(_seed(url))
            self.sqlite = path
        return self.sqlite

    def pg_template(self) -> str:
        if self.pg is None:
            from storage import migrate

            def build(url: str) -> None:
                migrate.upgrade(url)
                self.gazetteer = asyncio.run(_seed(url))

            self.pg = self.pg_databases.template(build)
        return self.pg


@pytest.fixture(scope="session")
def mission_templates(tmp_path_factory, pg_databases):
    """Dropped with the session's other PostgreSQL databases (tests/conftest.py `pg_databases`)."""
    return _Templates(tmp_path_factory.mktemp("mission"), pg_databases)


@pytest.fixture(params=["sqlite", "postgres"])
def mission_db_url(request, mission_templates, tmp_path):
    """A database with the demo data and the built-in flows, fresh for this test."""
    if request.param == "sqlite":
        target = tmp_path / "mission.db"
        shutil.copyfile(mission_templates.sqlite_template(), target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    require_pg()
    url = mission_templates.pg_databases.copy(mission_templates.pg_template())
    yield url
    mission_templates.pg_databases.drop(url)


@pytest.fixture(scope="session")
def mission_nlu():
    from nlu.parser import NLU

    return NLU.load()


@pytest.fixture
def nlu_for_demo(mission_nlu, mission_templates, mission_db_url):
    """The NLU with the demo villages and activities (same ids in every copy)."""
    acts, villages = mission_templates.gazetteer
    mission_nlu.set_gazetteer(activities=acts, villages=villages)
    return mission_nlu


@pytest.fixture
async def runner(mission_db_url, nlu_for_demo):
    """The real dispatcher, flow runtime and mission actions over the demo database."""
    from bot.conversation_tests import ConversationRunner
    from flows.registry import load_actions
    from nlu.emergency import detect

    async with ConversationRunner(mission_db_url, [BUILTIN], nlu=nlu_for_demo, registry=load_actions(),
                                  emergency_detector=detect, now=NOW, migrate=False) as r:
        yield r
