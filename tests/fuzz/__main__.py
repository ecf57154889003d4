"""`python -m tests.fuzz` (what `make fuzz` runs): random walks on SQLite and PostgreSQL, the
figures, and the failing walks as conversation test files.

    python -m tests.fuzz --seed 1 --walks 2000 --db sqlite --db postgres --save /tmp/found
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.fuzz import reproducer
from tests.fuzz.database import demo_database, fuzz_runner
from tests.fuzz.walk import Fuzzer, Report, describe, distinct


async def fuzz(database: str, seed: int, walks: int, nlu) -> Report:
    with demo_database(database) as url:
        async with fuzz_runner(url, nlu) as runner:
            return await Fuzzer(runner, seed=seed, walks=walks, database=database).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--walks", type=int, default=2000, help="villagers per database")
    parser.add_argument("--db", action="append", choices=["sqlite", "postgres"], help="default: both")
    parser.add_argument("--save", type=Path, help="write one reproducer per (kind, flow, step) here")
    parser.add_argument("--limit", type=int, default=15, help="at most this many reproducers saved")
    parser.add_argument("--show", type=int, default=3, help="print this many reproducers")
    args = parser.parse_args(argv)
    from nlu.parser import NLU

    nlu = NLU.load()
    violations = []
    for database in args.db or ["sqlite", "postgres"]:
        report = asyncio.run(fuzz(database, args.seed, args.walks, nlu))
        print(report.summary(), flush=True)
        violations += report.violations
    found = distinct(violations)  # one per (kind, flow, step, form) over both databases
    if found:
        print(f"\n{len(found)} distinct violations (kind, flow/step, form):\n{describe(found)}")
    for v in found[:args.show]:
        print(f"\n--- reproducer ---\n{reproducer.to_yaml(v, seed=args.seed)}")
    if args.save and found:
        replayed = asyncio.run(reproducer.replay(found, seed=args.seed, nlu=nlu))
        for path in reproducer.save(found, replayed, args.save, seed=args.seed, limit=args.limit):
            print(f"saved {path}")
        print(f"{sum(replayed)} of {len(found)} reproducers fail on a fresh database as found")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
