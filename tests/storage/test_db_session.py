"""`Database.session()`: one transaction, committed on success, rolled back on error or
cancellation, the connection given back in every case (a transaction left open would hold
SQLite's write lock and PostgreSQL's row locks). SQLite and PostgreSQL."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

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
