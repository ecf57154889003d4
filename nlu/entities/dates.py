"""``date`` and ``time`` entities, resolved against a reference time in Asia/Shanghai.

- A day without a time of day → ``date`` with value ``YYYY-MM-DD``:
  今天/明天/后天/大后天/昨天/前天, 周六/星期六/礼拜天 (the next such day, today included),
  这周三/本周三, 下周三/下个星期三 (that day of next calendar week, weeks start on Monday),
  3月5号/三月五日 (this year, or next year once the day has passed), 5号 (this month, or next),
  2026年3月5日, 2026-03-05; English today, tomorrow, day after tomorrow, (next) saturday.
- With a time of day (下午, 晚上8点, 下午三点半, 9:30) → one ``time`` entity over the whole
  expression with value ``YYYY-MM-DDTHH:MM:SS+08:00``. A part of the day alone stands for
  早上 08:00, 上午 09:00, 中午 12:00, 下午 15:00, 傍晚 18:00, 晚上 19:00, 夜里 21:00;
  下午/晚上 turn 3点 into 15:00. A time without a day means today.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from nlu.entities.base import Span
from nlu.entities.numbers import chinese_to_int

__all__ = ["SHANGHAI", "DateTimeExtractor", "reference_time"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

_N = r"(?:\d{1,4}|[零〇一二两三四五六七八九十]{1,4})"
_RELATIVE = {
    "大后天": 3, "后天": 2, "後天": 2, "明天": 1, "明日": 1, "明儿个": 1, "明儿": 1, "今天": 0, "今日": 0,
    "今儿个": 0, "今儿": 0, "今晚": 0, "明早": 1, "明晚": 1, "昨天": -1, "昨日": -1, "前天": -2,
}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5,
             "1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5, "7": 6}
_PARTS = {"凌晨": 5, "清早": 7, "早上": 8, "早晨": 8, "上午": 9, "中午": 12, "下午": 15, "傍晚": 18,
          "晚上": 19, "夜里": 21}
_PM_PARTS = {"下午", "傍晚", "晚上", "夜里", "晚"}
_EN_WEEKDAYS = {d: i for i, d in enumerate(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"])}

_DAY = (
    rf"(?P<ymd>(?P<y>\d{{4}})[年\-/.](?P<m1>\d{{1,2}})[月\-/.](?P<d1>\d{{1,2}})[日号]?)"
    rf"|(?P<md>(?P<m2>{_N})月(?P<d2>{_N})[日号]?)"
    rf"|(?P<week>(?P<wprefix>下下个?|下个?|这个?|本|上个?)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天末1-7]))"
    rf"|(?P<rel>{'|'.join(sorted(_RELATIVE, key=len, reverse=True))})"
    rf"|(?P<dom>(?<![\d月])(?P<d3>\d{{1,2}}|[一二三四五六七八九十]{{1,3}})号(?!活动|的活动|选项|线|楼|房|人|床))"
)
_CLOCK = (
    rf"(?P<part>{'|'.join(sorted(_PARTS, key=len, reverse=True))})?"
    rf"(?:(?P<hh>\d{{1,2}})[:：](?P<mm>\d{{2}})|(?P<h>{_N})[点时](?:(?P<half>半)|(?P<quarter>一刻)|(?P<min>{_N})分?)?)?"
)
# Every part of the expression is optional: it matches the empty string at every position, and
# finditer made (and the loop skipped) a match object for each. A non-empty match begins with a
# digit, a space, a numeral, a week's prefix (下周, 这周, 本周, 上周, 周, 星期, 礼拜), a relative day or a
# part of the day: the look-ahead lets re skip every other position itself.
_FIRST = "".join(sorted(set("零〇一二两三四五六七八九十下这本上周星礼") | {k[0] for k in (*_RELATIVE, *_PARTS)}))
_EXPR = re.compile(rf"(?=[{re.escape(_FIRST)}\d\s])(?:{_DAY})?(?:\s?{_CLOCK})")
_EN = re.compile(
    r"\b(?P<en>day after tomorrow|tomorrow|today|tonight|(?P<ennext>next |this |on )?(?P<enwd>monday|tuesday|wednesday|thursday|friday|saturday|sunday))\b"
)


def reference_time(now: datetime | None) -> datetime:
    """``now`` in Asia/Shanghai (naive datetimes are taken as Shanghai time)."""
    if now is None:
        return datetime.now(SHANGHAI)
    if now.tzinfo is None:
        return now.replace(tzinfo=SHANGHAI)
    return now.astimezone(SHANGHAI)


def _num(text: str | None) -> int | None:
    if not text:
        return None
    return int(text) if text.isdigit() else chinese_to_int(text)


def _next_month_day(today: date, month: int, day: int) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None


def _resolve_day(m: re.Match, today: date) -> date | None:
    if m.group("ymd"):
        try:
            return date(int(m.group("y")), int(m.group("m1")), int(m.group("d1")))
        except ValueError:
            return None
    if m.group("md"):
        month, day = _num(m.group("m2")), _num(m.group("d2"))
        if not month or not day:
            return None
        return _next_month_day(today, month, day)
    if m.group("week"):
        weekday = _WEEKDAYS[m.group("wd")]
        prefix = m.group("wprefix") or ""
        monday = today - timedelta(days=today.weekday())
        if prefix.startswith("下下"):
            return monday + timedelta(days=14 + weekday)
        if prefix.startswith("下"):
            return monday + timedelta(days=7 + weekday)
        if prefix.startswith("上"):
            return monday + timedelta(days=weekday - 7)
        if prefix:  # 这周三 / 本周三
            return monday + timedelta(days=weekday)
        ahead = (weekday - today.weekday()) % 7
        return today + timedelta(days=ahead)
    if m.group("rel"):
        return today + timedelta(days=_RELATIVE[m.group("rel")])
    if m.group("dom"):
        day = _num(m.group("d3"))
        if not day:
            return None
        for offset in range(0, 3):
            month = (today.month - 1 + offset) % 12 + 1
            year = today.year + (today.month - 1 + offset) // 12
            try:
                candidate = date(year, month, day)
            except ValueError:
                continue
            if candidate >= today:
                return candidate
    return None


def _resolve_clock(m: re.Match, rel: str | None) -> time | None:
    part = m.group("part")
    if part is None and rel in ("今晚", "明晚"):
        part = "晚上"
    if part is None and rel == "明早":
        part = "早上"
    hour = _num(m.group("hh")) if m.group("hh") else _num(m.group("h"))
    if hour is None:
        if part is None:
            return None
        return time(_PARTS[part], 0)
    minute = 0
    if m.group("mm"):
        minute = int(m.group("mm"))
    elif m.group("half"):
        minute = 30
    elif m.group("quarter"):
        minute = 15
    elif m.group("min"):
        minute = _num(m.group("min")) or 0
    if part in _PM_PARTS and hour < 12:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


class DateTimeExtractor:
    def extract(self, text: str, now: datetime | None = None) -> list[Span]:
        ref = reference_time(now)
        today = ref.date()
        spans: list[Span] = []
        for m in _EXPR.finditer(text):
            if m.end() == m.start():
                continue
            has_day = any(m.group(g) for g in ("ymd", "md", "week", "rel", "dom"))
            day = _resolve_day(m, today) if has_day else today
            if day is None:
                continue
            clock = _resolve_clock(m, m.group("rel"))
            if not has_day and clock is None:
                continue
            if not has_day and m.group("h") and not m.group("part") and not m.group("hh"):
                # a bare "3点" is a time only with a digit hour, not e.g. "一点点"
                if not (m.group("h") or "").isdigit():
                    continue
            spans.append(self._span(day, clock, m.start(), m.end()))
        for m in _EN.finditer(text):
            word = m.group("en")
            if m.group("enwd"):
                weekday = _EN_WEEKDAYS[m.group("enwd")]
                ahead = (weekday - today.weekday()) % 7
                if (m.group("ennext") or "").strip() == "next":
                    ahead = 7 + weekday - today.weekday()
                day = today + timedelta(days=ahead)
            else:
                day = today + timedelta(days={"today": 0, "tonight": 0, "tomorrow": 1}.get(word, 2))
            clock = time(19, 0) if word == "tonight" else None
            spans.append(self._span(day, clock, m.start(), m.end()))
        return spans

    @staticmethod
    def _span(day: date, clock: time | None, start: int, end: int) -> Span:
        if clock is None:
            return Span("date", day.isoformat(), start, end, 1.0, "DateTimeExtractor")
        value = datetime.combine(day, clock, tzinfo=SHANGHAI).isoformat()
        return Span("time", value, start, end, 1.0, "DateTimeExtractor")
