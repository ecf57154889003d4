"""One CLI command's work in one transaction against XIANGZHU_DATABASE_URL; a refusal from
storage (a StorageError) becomes a clear message on stderr and exit status 1. And the schema
check of the commands that run the bot, here so a refusal does not import the app first."""
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


def exit_unless_schema_current(database_url: str) -> None:
    """For a command about to run the bot: exit 2 with a message when the database cannot be
    reached or its schema is behind (`xiangzhu db upgrade`)."""
    from storage import migrate

    try:
        migrate.check_current(database_url)
    except migrate.SchemaBehindError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    except Exception as exc:
        click.echo(f"无法连接数据库 / cannot reach the database: {exc}", err=True)
        sys.exit(2)
