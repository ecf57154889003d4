"""Conversation tests in YAML, run through the real dispatcher on a fresh SQLite database:
tests/flows/conversations/*.yaml over the engine's test flows. The built-in flows' own tests
(flows/builtin/tests/*.yaml) need the demo data and run in tests/mission/."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation_tests import ConversationRunner, load_tests

HERE = Path(__file__).parent
ENGINE_TESTS = sorted((HERE / "conversations").glob("*.yaml"))

CASES = [(t, [HERE / "data" / "flows"]) for p in ENGINE_TESTS for t in load_tests(p)]


@pytest.mark.parametrize("test, flow_dirs", CASES, ids=[f"{Path(t.file).stem}: {t.name}" for t, _ in CASES])
async def test_conversation(test, flow_dirs, fresh_sqlite_url, nlu, registry, emergency_detector):
    async with ConversationRunner(fresh_sqlite_url, flow_dirs, nlu=nlu, registry=registry,
                                  emergency_detector=emergency_detector, migrate=False) as runner:
        failures = await runner.run(test)
    assert not failures, "\n".join(str(f) for f in failures)
