"""One CLI command's work in one transaction against XIANGZHU_DATABASE_URL; a refusal from
storage (a StorageError) becomes a clear message on stderr and exit status 1."""
from __future__ import annotations

import asyncio
import sys

import click

from bot.config import get_settings
from storage.db import Database
from storage.errors import StorageError


def run_in_session(work, refusal: str = "错误 / error"):
    """Run `work(session)` and return its result; a StorageError is printed after `refusal`."""

    async def main():
        db = Database(get_settings().database_url, pool_size=1)
        try:
            async with db.session() as s:
                return await work(s)
        finally:
            await db.dispose()

    try:
        return asyncio.run(main())
    except StorageError as exc:
        click.echo(f"{refusal}: {exc}", err=True)
        sys.exit(1)
