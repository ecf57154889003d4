"""Every conversation test in flows/builtin/tests/*.yaml, through the real dispatcher, flow
runtime, NLU and mission actions, over the demo data — on SQLite and on PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.conversation_tests import load_tests

TESTS_DIR = Path(__file__).resolve().parents[2] / "flows" / "builtin" / "tests"
CASES = [t for p in sorted(TESTS_DIR.glob("*.yaml")) for t in load_tests(p)]


@pytest.mark.parametrize("test", CASES, ids=[f"{Path(t.file).stem}: {t.name}" for t in CASES])
async def test_builtin_conversation(test, runner):
    failures = await runner.run(test)
    assert not failures, "\n".join(str(f) for f in failures)
