"""`xiangzhu seed`: the content every installation needs (policies, hotlines, the built-in
flows), and with `--demo` the demo data (storage/demo.py). The built-in flows come from the
flow engine, which validates them (flows/store.py); storage only keeps them."""
from __future__ import annotations

import asyncio
from datetime import date, datetime
from zoneinfo import ZoneInfo

import click

from bot.config import get_settings
from flows.store import seed_builtin
from storage.db import Database
from storage.demo import SeedReport, seed_content, seed_demo

__all__ = ["seed_command"]

_KIND_LABELS = {
    "policies": "政策 / policies",
    "hotlines": "热线 / hotlines",
    "flows": "对话流程 / flows",
    "areas": "地区 / areas",
    "staff": "工作人员 / staff (用户名 / 密码 username / password)",
    "activities": "活动 / activities",
    "overrides": "地方规定 / local overrides",
}


def _print_report(report: SeedReport) -> None:
    if report.nothing_created:
        click.echo("没有新建任何数据,都已存在。 / Nothing new: everything was already there.")
    for kind, label in _KIND_LABELS.items():
        names = report.created.get(kind, [])
        kept = report.existing.get(kind, 0)
        if not names and not kept:
            continue
        click.echo(f"{label}: 新建 {len(names)} / created {len(names)}, 已有 {kept} / existing {kept}")
        for name in names:
            click.echo(f"  + {name}")
    for problem in report.problems:
        click.echo(f"警告 / warning: {problem}", err=True)


async def _run(url: str, demo: bool, today: date, tz: str) -> SeedReport:
    db = Database(url)
    try:
        async with db.session() as session:
            if demo:
                return await seed_demo(session, today, tz=tz, flows=seed_builtin)
            return await seed_content(session, flows=seed_builtin)
    finally:
        await db.dispose()


@click.command("seed")
@click.option("--demo", is_flag=True, help="也写入演示用的地区、工作人员、活动 / also add the demo areas, staff and activities")
def seed_command(demo: bool) -> None:
    """写入政策库和热线(--demo:再加演示数据)。可重复运行。
    Seed the policy knowledge base and hotlines (--demo: plus demo data). Safe to repeat."""
    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    today = datetime.now(zone).date()
    report = asyncio.run(_run(settings.database_url, demo, today, settings.timezone))
    _print_report(report)
