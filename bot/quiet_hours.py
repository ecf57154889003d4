"""Quiet hours: the nightly span (default 21:00–07:00 in `XIANGZHU_TIMEZONE`) in which the
bot starts no conversation. Reminders, offers, follow-ups, check-ins, campaigns and
broadcasts due inside it wait for its end; replies, emergencies, handoff messages and worker
pages never wait.

    quiet_until(now, "21:00-07:00", "Asia/Shanghai")  # -> the end (UTC), or None outside
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.errors import BotError

OFF = ("", "off", "none")


class QuietHoursError(BotError, ValueError):
    """XIANGZHU_QUIET_HOURS is not "HH:MM-HH:MM" (or "off")."""


def parse(spec: str) -> tuple[time, time] | None:
    """"21:00-07:00" -> (21:00, 07:00); "off" or "" -> None."""
    text = (spec or "").strip().lower()
    if text in OFF:
        return None
    try:
        start, end = (time.fromisoformat(part.strip()) for part in text.split("-"))
    except ValueError:
        raise QuietHoursError(f"quiet hours {spec!r}: write them as HH:MM-HH:MM, e.g. 21:00-07:00, or off") from None
    if start == end:
        raise QuietHoursError(f"quiet hours {spec!r}: start and end are the same; use off for none")
    return start, end


def quiet_until(now: datetime, spec: str, tz: str) -> datetime | None:
    """When the quiet hours that `now` falls in end (UTC), or None when `now` is not quiet."""
    span = parse(spec)
    if span is None:
        return None
    start, end = span
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    if start < end:  # e.g. 12:00-14:00
        if not (start <= t < end):
            return None
        day = local.date()
    else:  # wraps midnight, e.g. 21:00-07:00
        if t >= start:
            day = local.date() + timedelta(days=1)
        elif t < end:
            day = local.date()
        else:
            return None
    return datetime.combine(day, end, tzinfo=zone).astimezone(timezone.utc)
