"""`Database.session()`: one transaction, committed on success, rolled back on error or
cancellation, the connection given back in every case (a transaction left open would hold
SQLite's write lock and PostgreSQL's row locks). SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from storage import driver
from storage.db import Database
from storage.models import Area


async def areas(db) -> list[str]:
    async with db.session() as s:
        return list((await s.execute(select(Area.code).order_by(Area.code))).scalars())

async def _cancel_then_write(db, stuck, inside: asyncio.Event) -> None:
    """Cancel `stuck` once it holds a write, then check a later write gets through and is alone."""
    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(add_area(db, "y"), timeout=30)
    assert await areas(db) == ["y"]



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

    await _cancel_then_write(db, stuck, inside)
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


# ── Database.turn(): the session made only when the turn asks for the ORM ──────────────────

_INSERT_AREA = driver.Insert(Area.__table__)
_COUNT_AREAS = driver.Query(select(func.count()).select_from(Area))


def _insert_area(cur: driver.Cursor, code: str) -> None:
    cur.insert(_INSERT_AREA, [dict(code=code, name=code, level="village")])


async def test_a_turn_on_the_driver_alone_commits_without_a_session(db):
    async with db.turn() as s:
        assert s.bind is db.engine and s.identity_map.get("anything") is None
        await driver.run(s, _insert_area, "a")
        s.info["noted"] = True
        assert await driver.run(s, lambda cur: cur.one(_COUNT_AREAS)[0]) == 1
        assert s.driver_connection() is not None  # no AsyncSession was made
    assert s.info == {"noted": True}
    assert await areas(db) == ["a"]


async def test_a_turn_that_asks_for_the_orm_joins_its_transaction(db):
    async with db.turn() as s:
        await driver.run(s, _insert_area, "a")
        s.info["noted"] = True
        s.add(Area(code="b", name="b", level="village"))  # makes the session
        assert s.driver_connection() is None and s.bind is db.engine
        assert s.info["noted"] and s.sync_session.info is s.info
        # the driver runs after an autoflush, in the same transaction as the ORM
        assert await driver.run(s, lambda cur: cur.one(_COUNT_AREAS)[0]) == 2
        s.add(Area(code="c", name="c", level="village"))  # flushed by the commit
        assert (await s.execute(select(Area.code).where(Area.code == "a"))).scalar_one() == "a"
    assert await areas(db) == ["a", "b", "c"]


@pytest.mark.parametrize("orm", [False, True])
async def test_a_failed_turn_is_rolled_back_and_gives_its_connection_back(db, orm):
    with pytest.raises(RuntimeError):
        async with db.turn() as s:
            await driver.run(s, _insert_area, "a")
            if orm:
                s.add(Area(code="b", name="b", level="village"))
                await s.flush()
            raise RuntimeError("the flow failed")
    with pytest.raises(Exception):  # the commit fails (a duplicate code): rolled back, given back
        async with db.turn() as s:
            await driver.run(s, _insert_area, "x")
            s.add(Area(code="x", name="x", level="village"))
    await asyncio.wait_for(add_area(db, "y"), timeout=30)  # SQLite's write lock is free again
    assert await areas(db) == ["y"]


async def test_a_cancelled_turn_is_rolled_back_and_gives_its_connection_back(db):
    inside = asyncio.Event()

    async def stuck():
        async with db.turn() as s:
            await driver.run(s, _insert_area, "x")  # holds the write lock (SQLite)
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    await _cancel_then_write(db, stuck, inside)


async def test_the_orm_before_the_turns_first_statement_is_refused(db):
    async with db.turn() as s:
        with pytest.raises(RuntimeError):
            s.add(Area(code="a", name="a", level="village"))
    assert await areas(db) == []
