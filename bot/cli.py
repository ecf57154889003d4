"""The `xiangzhu` command. Sub-command groups live beside the code they drive and are
imported when named, so `xiangzhu db upgrade` does not import the NLU or a messenger SDK."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Callable

import click
from sqlalchemy.engine import make_url

from bot.config import get_settings


def _serve():
    from bot.app import serve_command
    return serve_command


def _chat():
    from bot.channels.console import chat_command
    return chat_command


def _seed():
    from bot.seed import seed_command
    return seed_command


def _nlu():
    from nlu.cli import nlu_group
    return nlu_group


def _flows():
    from bot.flows_cli import flows_group
    return flows_group


def _bench():
    from bot.bench.cli import bench_group
    return bench_group


def _jobs():
    from bot.scheduler import jobs_group
    return jobs_group


def _admin():
    from bot.staff_cli import admin_group
    return admin_group


def _workers():
    from bot.staff_cli import workers_group
    return workers_group


def _activities():
    from bot.activities_cli import activities_group
    return activities_group


def _broadcast():
    from bot.broadcast_cli import broadcast_group
    return broadcast_group


def _campaigns():
    from bot.campaigns_cli import campaigns_group
    return campaigns_group


def _offers():
    from bot.offers_cli import offers_group
    return offers_group


def _match():
    from bot.offers_cli import match_command
    return match_command


def _report():
    from bot.desk.cli import report_group
    return report_group


def _wechat():
    from bot.channels.wechat.cli import wechat_group
    return wechat_group


# name -> a function importing the click command or group
LAZY_COMMANDS: dict[str, Callable[[], click.Command]] = {
    "serve": _serve, "chat": _chat, "seed": _seed, "nlu": _nlu, "flows": _flows, "bench": _bench,
    "jobs": _jobs, "admin": _admin, "workers": _workers, "wechat": _wechat,
    "activities": _activities, "broadcast": _broadcast, "campaigns": _campaigns,
    "offers": _offers, "match": _match, "report": _report,
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in LAZY_COMMANDS:
            return cmd
        return LAZY_COMMANDS[name]()


@click.group(cls=LazyGroup)
def cli() -> None:
    """乡助 Xiangzhu — 为村民和社工服务的聊天机器人。"""


@cli.group()
def db() -> None:
    """数据库：迁移与备份 / database migrations and backup."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema."""
    from storage import migrate

    url = get_settings().database_url
    migrate.upgrade(url, revision)
    click.echo(f"数据库已是最新结构 / schema at {migrate.current_revision(url)}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Migrate the database back to REVISION (e.g. base)."""
    from storage import migrate

    migrate.downgrade(get_settings().database_url, revision)
    click.echo(f"schema at {migrate.current_revision(get_settings().database_url)}")


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def db_backup(path: Path) -> None:
    """Copy the SQLite database to PATH while the bot keeps running (online backup)."""
    url = make_url(get_settings().database_url)
    if url.get_backend_name() != "sqlite":
        click.echo(
            "PostgreSQL: use pg_dump, e.g.  pg_dump -Fc -h HOST -U USER DBNAME > backup.dump\n"
            "PostgreSQL：请用 pg_dump 备份。",
            err=True,
        )
        sys.exit(2)
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(url.database)
    dst = sqlite3.connect(str(path))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    click.echo(f"已备份到 {path} / backed up to {path}")


def main() -> None:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        cli(prog_name="xiangzhu", standalone_mode=True)
    except (OperationalError, ProgrammingError) as exc:
        text = str(exc.orig if getattr(exc, "orig", None) is not None else exc)
        if "no such table" in text or "does not exist" in text:
            click.echo("数据库还没有建好表。请先运行：xiangzhu db upgrade\n"
                       "The database has no tables yet. Run: xiangzhu db upgrade", err=True)
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
