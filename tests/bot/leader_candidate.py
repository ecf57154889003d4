"""A leader candidate in a process of its own, for tests/bot/test_leader.py.

    python tests/bot/leader_candidate.py DATABASE_URL

Prints `round N leader=0|1` after every election round and `elected` / `deposed` on changes.
"""
import asyncio
import sys

from bot.leader import Leader
from storage.db import Database


async def main(url: str) -> None:
    db = Database(url, pool_size=1)

    async def elected():
        print("elected", flush=True)

    async def deposed():
        print("deposed", flush=True)

    leader = Leader(db, on_elected=elected, on_deposed=deposed, retry_seconds=0.3, heartbeat_seconds=0.3)
    await leader.start()
    seen = -1
    while True:
        if leader.rounds != seen:
            seen = leader.rounds
            print(f"round {seen} leader={int(leader.is_leader)}", flush=True)
        await asyncio.sleep(0.05)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
