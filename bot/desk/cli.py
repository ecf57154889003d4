"""`xiangzhu report handoffs`: the handoff figures, as text or JSON."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import click

from bot.config import get_settings
from bot.desk.report import as_text, default_window, handoff_report
from storage.db import Database


def _day(value: str | None, tz: ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"日期格式：2026-11-01 / date as YYYY-MM-DD: {value}") from exc
    if parsed.tzinfo is None:
        parsed = datetime.combine(parsed.date(), parsed.time() if len(value) > 10 else time(), tzinfo=tz)
    return parsed


@click.group("report")
def report_group() -> None:
    """统计 / figures."""


@report_group.command("handoffs")
@click.option("--since", help="from this day (local time; default: 30 days before --until)")
@click.option("--until", help="up to this day, exclusive (default: now)")
@click.option("--json", "as_json", is_flag=True, help="a JSON object (count at the top level)")
def handoffs_command(since: str | None, until: str | None, as_json: bool) -> None:
    """Handoffs: time to claim and to the first reply, by area and priority, escalations, satisfaction."""
    settings = get_settings()
    tz = ZoneInfo(settings.timezone)
    start, end = default_window(datetime.now(timezone.utc), _day(since, tz), _day(until, tz))

    async def main():
        db = Database(settings.database_url, pool_size=1)
        try:
            async with db.session() as s:
                return await handoff_report(s, since=start, until=end)
        finally:
            await db.dispose()

    report = asyncio.run(main())
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else as_text(report))
