"""Figures on handoffs (`xiangzhu report handoffs`, GET /api/reports/handoffs): how many,
time to claim and to the first human reply (from the handoff's creation) p50/p90, by area
and priority, escalations, satisfaction."""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Area, Handoff

SCORES = {1: "satisfied", 2: "so_so", 3: "not_satisfied"}


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)


def _times(rows: list[Handoff]) -> dict:
    claim = [(h.claimed_at - h.created_at).total_seconds() for h in rows if h.claimed_at]
    reply = [(h.first_reply_at - h.created_at).total_seconds() for h in rows if h.first_reply_at]
    return {
        "count": len(rows),
        "claimed": len(claim),
        "seconds_to_claim": {"p50": percentile(claim, 50), "p90": percentile(claim, 90)},
        "seconds_to_first_reply": {"p50": percentile(reply, 50), "p90": percentile(reply, 90)},
    }


def default_window(now: datetime, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    until = until or now
    return since or until - timedelta(days=30), until


async def handoff_report(session: AsyncSession, *, since: datetime, until: datetime,
                         visible: ColumnElement[bool] | None = None) -> dict:
    """The figures for handoffs created in [since, until); `visible` limits them to the
    caller's areas."""
    rows = list((await session.execute(select(Handoff).where(
        visible if visible is not None else true(), Handoff.created_at >= since, Handoff.created_at < until)
        .order_by(Handoff.id))).scalars())
    names = {a.id: a.name for a in (await session.execute(select(Area))).scalars()}
    by_area: dict[str, list[Handoff]] = {}
    by_priority: dict[str, list[Handoff]] = {}
    for h in rows:
        by_area.setdefault(names.get(h.village_id, "未知") if h.village_id else "未知", []).append(h)
        by_priority.setdefault(h.priority, []).append(h)
    rated = [h.satisfaction for h in rows if h.satisfaction in SCORES]
    return {
        "since": since.isoformat(), "until": until.isoformat(),
        **_times(rows),
        "open": sum(1 for h in rows if h.status != "closed"),
        "closed": sum(1 for h in rows if h.status == "closed"),
        "escalations": sum(1 for h in rows if h.escalated_at is not None),
        "told_villager": sum(1 for h in rows if h.told_villager_at is not None),
        "transfers": sum(h.transfers or 0 for h in rows),
        "by_area": {k: _times(v) for k, v in sorted(by_area.items())},
        "by_priority": {k: _times(v) for k, v in sorted(by_priority.items())},
        "satisfaction": {"answered": len(rated), **{name: rated.count(n) for n, name in SCORES.items()}},
    }


def as_text(report: dict) -> str:
    def fmt(sec):
        return "—" if sec is None else f"{sec / 60:.1f} 分钟"

    lines = [f"转人工 {report['count']} 个（{report['since'][:10]} 至 {report['until'][:10]}）",
             f"认领用时 p50 {fmt(report['seconds_to_claim']['p50'])} · p90 {fmt(report['seconds_to_claim']['p90'])}",
             f"首次回复 p50 {fmt(report['seconds_to_first_reply']['p50'])} · "
             f"p90 {fmt(report['seconds_to_first_reply']['p90'])}",
             f"升级 {report['escalations']} · 转交 {report['transfers']} · 未结束 {report['open']}"]
    for title, key in (("按地区", "by_area"), ("按优先级", "by_priority")):
        lines.append(title + "：")
        for name, t in report[key].items():
            lines.append(f"  {name}: {t['count']} 个，认领 p50 {fmt(t['seconds_to_claim']['p50'])}")
    s = report["satisfaction"]
    lines.append(f"满意度（{s['answered']} 人回答）：满意 {s['satisfied']} · 一般 {s['so_so']} · 不满意 {s['not_satisfied']}")
    return "\n".join(lines)
