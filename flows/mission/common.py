"""Small helpers the mission's actions share: words in the person's language, choices."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")


def pick(locale: str, zh: str, en: str) -> str:
    """The text in the person's language."""
    return en if locale == "en" else zh


def localized(value: Any, locale: str) -> str:
    """A `{zh, en}` dict (or a plain string) as text in `locale`, falling back to Chinese."""
    if isinstance(value, dict):
        return str(value.get(locale) or value.get("zh") or value.get("en") or "")
    return "" if value is None else str(value)


def choice(value: Any, zh: str, en: str) -> dict:
    """One entry of an action's `items`, used by `ask: choices_from: result.items`."""
    return {"value": str(value), "title": {"zh": zh, "en": en}}


def local_time(when: datetime, locale: str) -> str:
    """A date and time in Asia/Shanghai, the way a villager reads it."""
    local = when.astimezone(TZ)
    if locale == "en":
        return local.strftime("%a %d %b %H:%M")
    weekday = "一二三四五六日"[local.weekday()]
    return f"{local.month}月{local.day}日（周{weekday}）{local:%H:%M}"


def local_date(when: datetime, locale: str) -> str:
    local = when.astimezone(TZ)
    return local.strftime("%Y-%m-%d") if locale == "en" else f"{local.month}月{local.day}日"


def as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None
