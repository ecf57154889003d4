"""The bounded conversation fuzz run of `make test` (issue 12): a fixed seed, a few hundred
turns on SQLite and on PostgreSQL through the real REST entry; any violated invariant fails
the test and prints the walk as a conversation test file. `make fuzz` runs a long one.

The second test proves the instrument: a pipeline sabotaged to raise on one word and say
nothing on another is caught, and the printed reproducer fails when run as a conversation test."""
from __future__ import annotations

import pytest

from flows.conversation_tests import load_tests
from tests.fuzz import reproducer
from tests.fuzz.database import fuzz_runner
from tests.fuzz.walk import Fuzzer, describe

SEED = 12
WALKS = 50  # ~500 turns per database: about 7 s of walking on SQLite and 11 s on PostgreSQL here
MIN_FLOWS = 12  # a walker that reaches less has stopped exploring


@pytest.fixture(scope="module")
def fuzz_nlu():
    from nlu.parser import NLU

    return NLU.load()


async def test_random_walks_keep_every_invariant(db_url, fuzz_nlu):
    database = "sqlite" if db_url.startswith("sqlite") else "postgres"
    async with fuzz_runner(db_url, fuzz_nlu) as runner:
        report = await Fuzzer(runner, seed=SEED, walks=WALKS, database=database).run()
    print(report.summary())
    assert report.turns >= WALKS * 6
    assert len(report.flows) >= MIN_FLOWS, report.summary()
    if report.violations:
        found = report.distinct()
        pytest.fail(f"{report.summary()}\n{describe(found)}\n\nreproducer of the first (python -m tests.fuzz "
                    f"--seed {SEED} --walks {WALKS} prints them all):\n{reproducer.to_yaml(found[0], seed=SEED)}",
                    pytrace=False)


class _Sabotaged:
    """The real flow runtime, except that 好的 raises and 算了 gets no reply."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.registry = runtime.registry

    async def handle(self, turn) -> None:
        if "好的" in turn.text:
            raise RuntimeError("sabotaged")
        await self.runtime.handle(turn)
        if turn.text.strip() == "算了":
            turn.replies.clear()


async def _replay(url: str, nlu, yaml_text: str, tmp_path) -> tuple:
    path = tmp_path / "reproducer.yaml"
    path.write_text(yaml_text, encoding="utf-8")
    (test,) = load_tests(path)
    async with fuzz_runner(url, nlu) as runner:
        runner.services.handler = _Sabotaged(runner.services.handler)
        return test, await runner.run(test)


async def test_fuzzer_catches_a_sabotaged_pipeline_and_its_reproducer_fails(tmp_path, fuzz_nlu):
    from storage import migrate

    url = f"sqlite+aiosqlite:///{tmp_path}/walks.db"
    migrate.upgrade(url)
    async with fuzz_runner(url, fuzz_nlu) as runner:
        runner.services.handler = _Sabotaged(runner.services.handler)
        report = await Fuzzer(runner, seed=SEED, walks=WALKS, database="sqlite").run()
    found = {v.kind: v for v in report.distinct()}
    assert {"apology", "silence"} <= set(found), report.summary()
    for kind in ("apology", "silence"):
        fresh = f"sqlite+aiosqlite:///{tmp_path}/replay-{kind}.db"
        migrate.upgrade(fresh)
        text = reproducer.to_yaml(found[kind], seed=SEED)
        test, failures = await _replay(fresh, fuzz_nlu, text, tmp_path)
        assert failures, f"the {kind} reproducer passed:\n{text}"
        assert f"turn {len(test.steps)} " in str(failures[0]), f"{failures[0]}\n{text}"
