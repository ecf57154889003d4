"""Fixtures for the flow engine's tests: the real NLU (trained once per session into a
temporary cache), and an action registry with a test `open_handoff` over the real storage
service (the mission's own open_handoff lives in flows/actions_mission.py)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.registry import ActionContext, load_actions

DATA = Path(__file__).parent / "data"
TEST_FLOWS = DATA / "flows"


@pytest.fixture(scope="session")
def nlu(tmp_path_factory):
    from nlu.parser import NLU

    model = NLU.load()  # the shared model cache (keyed by data and code), trained once
    model.set_gazetteer(activities=[(12, "巧娘班", ["巧娘"])],
                        villages=[(1, "西坡村", ["西坡", "Xipo"]), (2, "东沟村", ["东沟"])])
    return model


@pytest.fixture(scope="session")
def registry():
    reg = load_actions().copy()

    async def open_handoff(ctx: ActionContext, reason: str = "request", priority: str = "normal",
                           summary: str = "") -> dict:
        from storage.handoffs import open_handoff as open_

        handoff, created = await open_(ctx.session, ctx.person.id, reason=reason, priority=priority,
                                       summary=summary, now=ctx.now)
        return {"handoff_id": handoff.id, "created": created}

    reg.register("open_handoff", open_handoff,
                 {"reason": "text?", "priority": "text?", "summary": "text?"})
    return reg


@pytest.fixture
def fresh_sqlite_url(migrated_sqlite, tmp_path) -> str:
    target = tmp_path / "fresh.db"
    shutil.copyfile(migrated_sqlite, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(scope="session")
def emergency_detector():
    from nlu.emergency import detect

    return detect
