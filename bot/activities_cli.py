"""`xiangzhu activities move|cancel`: change an activity from the command line. Each command
is one transaction against XIANGZHU_DATABASE_URL; the reminders move and the notices to the
participants are timer rows the running server's leader sends (quiet hours kept)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import click

from bot.cli_session import run_in_session
from bot.config import get_settings
from storage import activities as activity_store
from storage.models import utcnow

ACTOR = "cli"




def parse_local_time(text: str, tz: str) -> datetime:
    """ISO time; without an offset it is read in XIANGZHU_TIMEZONE."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: write e.g. 2026-12-01T14:30 or 2026-12-01T14:30+08:00") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(tz))


@click.group("activities")
def activities_group() -> None:
    """活动改期与取消 / move or cancel an activity (participants are told)."""


@activities_group.command("move")
@click.argument("activity_id", type=int)
@click.option("--starts-at", default=None, help="new start, e.g. 2026-12-01T14:30 (XIANGZHU_TIMEZONE unless an offset is given)")
@click.option("--place", default=None, help="new place")
def move(activity_id: int, starts_at: str | None, place: str | None) -> None:
    """Move ACTIVITY_ID to a new time and/or place: reminders move, everyone signed up is told."""
    if starts_at is None and place is None:
        raise click.UsageError("give --starts-at and/or --place")
    tz = get_settings().timezone
    new_start = parse_local_time(starts_at, tz) if starts_at else None

    async def work(s):
        a, told = await activity_store.move_activity(s, activity_id, starts_at=new_start, place=place, actor=ACTOR,
                                                     now=utcnow())
        return a.title, a.starts_at.astimezone(ZoneInfo(tz)), a.place, told

    title, start, where, told = run_in_session(work)
    click.echo(f"“{title}” → {start:%Y-%m-%d %H:%M}，{where}；通知 {told} 人 / {told} people will be told")


@activities_group.command("cancel")
@click.argument("activity_id", type=int)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def cancel(activity_id: int, yes: bool) -> None:
    """Cancel ACTIVITY_ID: every sign-up ends and everyone signed up is told."""
    if not yes:
        click.confirm(f"取消活动 {activity_id}？/ cancel activity {activity_id}?", abort=True)

    async def work(s):
        a, told = await activity_store.cancel_activity(s, activity_id, actor=ACTOR, now=utcnow())
        return a.title, told

    title, told = run_in_session(work)
    click.echo(f"“{title}”已取消；通知 {told} 人 / cancelled; {told} people will be told")
