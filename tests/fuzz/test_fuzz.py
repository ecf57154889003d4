"""The bounded conversation fuzz run of `make test` (issue 12): a fixed seed, a few hundred
turns on SQLite and on PostgreSQL through the real REST entry; any violated invariant fails
the test and prints the walk as a conversation test file. `make fuzz` runs a long one.

The second test proves the instrument: a pipeline sabotaged to raise on one word, say nothing
on another and leave the conversation at a missing step on a third is caught, and the printed
reproducers fail when run as conversation tests."""
from __future__ import annotations

import shutil

import pytest

from bot.conversation_tests import load_tests
from tests.fuzz import reproducer
from tests.fuzz.database import fuzz_runner
from tests.fuzz.inputs import NEGATE, number_forms
from tests.fuzz.walk import Fuzzer, describe

SEED = 12
WALKS = 40  # ~430 turns per database: about 5 s of walking on SQLite and 9 s on PostgreSQL here
MIN_FLOWS = 12  # a walker that reaches less has stopped exploring
SABOTAGED_WALKS = 20
ONE = set(number_forms(1))


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
    """The real flow runtime, except that 好的 raises, a negation (不要, no…) gets no reply and
    1 (in any form) leaves the conversation at a step its flow does not have."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.registry = runtime.registry

    async def handle(self, turn) -> None:
        if "好的" in turn.text:
            raise RuntimeError("sabotaged")
        await self.runtime.handle(turn)
        if turn.text.strip() in NEGATE:
            turn.replies.clear()
        if turn.text.strip() in ONE:
            turn.conversation.flow_id, turn.conversation.step = "menu", "no_such_step"


async def test_fuzzer_catches_a_sabotaged_pipeline_and_its_reproducers_fail(tmp_path, fuzz_nlu, migrated_sqlite):
    urls = []
    for name in ("walks", "replay"):  # each a copy of the session's migrated database
        shutil.copyfile(migrated_sqlite, tmp_path / f"{name}.db")
        urls.append(f"sqlite+aiosqlite:///{tmp_path}/{name}.db")
    async with fuzz_runner(urls[0], fuzz_nlu) as runner:
        runner.services.handler = _Sabotaged(runner.services.handler)
        report = await Fuzzer(runner, seed=SEED, walks=SABOTAGED_WALKS, database="sqlite").run()
    assert {"apology", "silence", "bad_state"} <= set(report.by_kind()), report.summary()
    sabotaged = {"apology": lambda text: "好的" in text, "silence": lambda text: text.strip() in NEGATE}
    found = {kind: min((v for v in report.violations if v.kind == kind and caused(v.turns[-1].text)),
                       key=lambda v: len(v.turns))
             for kind, caused in sabotaged.items()}
    async with fuzz_runner(urls[1], fuzz_nlu) as runner:  # a fresh database, as `xiangzhu flows test` runs it
        runner.services.handler = _Sabotaged(runner.services.handler)
        for kind in sabotaged:
            text = reproducer.to_yaml(found[kind], seed=SEED)
            path = tmp_path / f"{kind}.yaml"
            path.write_text(text, encoding="utf-8")
            (test,) = load_tests(path)
            failures = await runner.run(test)
            assert failures, f"the {kind} reproducer passed:\n{text}"
            assert f"turn {len(test.steps)} " in str(failures[0]), f"{failures[0]}\n{text}"
