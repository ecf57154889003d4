"""`Database.session()`: one transaction, committed on success, rolled back on error or
cancellation, the connection given back in every case (a transaction left open would hold
SQLite's write lock and PostgreSQL's row locks). SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Area


async def areas(db) -> list[str]:
    async with db.session() as s:
        return list((await s.execute(select(Area.code).order_by(Area.code))).scalars())


async def add_area(db, code: str) -> None:
    async with db.session() as s:
        s.add(Area(code=code, name=code, level="village"))


async def test_commits_on_success_and_rolls_back_on_error(db):
    await add_area(db, "a")
    with pytest.raises(RuntimeError):
        async with db.session() as s:
            s.add(Area(code="b", name="b", level="village"))
            await s.flush()  # written, then undone
            raise RuntimeError("the action failed")
    with pytest.raises(Exception):  # the commit itself fails: a duplicate code
        await add_area(db, "a")
    await add_area(db, "c")  # neither failure left a transaction open
    assert await areas(db) == ["a", "c"]


async def test_a_cancelled_transaction_is_rolled_back_and_gives_its_connection_back(db):
    inside = asyncio.Event()

    async def stuck():
        async with db.session() as s:
            s.add(Area(code="x", name="x", level="village"))
            await s.flush()  # holds the write lock (SQLite) and the row (PostgreSQL)
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(add_area(db, "y"), timeout=30)
    assert await areas(db) == ["y"]
    async with db.session() as s:
        assert (await s.execute(select(func.count()).select_from(Area))).scalar_one() == 1


@pytest.mark.parametrize("empty_db_url", ["postgres"], indirect=True)
async def test_postgres_keeps_every_connection_a_burst_opened(db_url):
    """A burst of concurrent transactions opens up to 2 × pool_size connections; all of them
    stay in the pool afterwards, so the next burst pays no new connection (TLS, login, and
    every prepared statement again) — an overflow connection used to be closed on return."""
    database = Database(db_url, pool_size=2)
    try:
        inside, release = [], asyncio.Event()

        async def hold():
            async with database.session() as s:
                await s.execute(select(func.count()).select_from(Area))
                inside.append(1)
                await release.wait()

        tasks = [asyncio.create_task(hold()) for _ in range(4)]
        while len(inside) < 4:
            await asyncio.sleep(0.01)
        release.set()
        await asyncio.gather(*tasks)
        assert database.engine.sync_engine.pool.checkedin() == 4
    finally:
        await database.dispose()
