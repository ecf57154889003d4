"""/api/exports: CSV (UTF-8 with a byte-order mark, so Excel opens the Chinese intact), one
route per export, each with `?from=&to=&area=` (local days, `to` included; an area code: a
village, or a township or county for everything under it).

- Record exports (`cases.csv`, `activities.csv`, `handoffs.csv`, `referrals.csv`,
  `checkins.csv`) hold personal fields: admins only, and each download is written to the
  audit log (`export.<name>`); anyone else gets 403 and the refusal is audited too.
- Totals (`/api/exports/totals/<chart>.csv`) are the dashboard's tables: every signed-in
  staff member, viewers too, within their areas.
- `/api/reports/charts` gives every chart of the dashboard as JSON.
"""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz, figures
from bot.api.common import ApiError, caller, now_of, resource_router, services_of, village_ids
from bot.authz import Caller, StaffScope
from storage import audit

router = resource_router()

FROM = Query(None, alias="from", description="first local day, ISO date (default: 90 days before `to`)")
TO = Query(None, description="last local day, included, ISO date (default: today)")
AREA = Query(None, description="area code: a village, or a township or county for all below it (default: all yours)")
CSV_RESPONSE = {200: {"content": {"text/csv": {}}, "description": "CSV, UTF-8 with a byte-order mark"}}
RECORDS_ADMINS_ONLY = ("导出含个人信息的记录需要管理员权限，已记录这次请求",
                       "exports with personal fields need the admin role; this request was logged")


async def window_for(s: AsyncSession, scope: StaffScope, *, first: date | None, last: date | None,
                     area: str | None, services) -> figures.Window:
    """The date range and areas asked for; an area the caller does not cover answers 404 like
    an unknown record."""
    ids = await village_ids(s, area)
    if ids is not None and not scope.is_admin and (scope.covered or not scope.is_viewer) and not (ids & scope.covered):
        raise ApiError(404, "找不到这个地区", "area not found")
    try:
        return figures.Window.of(first, last, now=now_of(services), tz=ZoneInfo(services.settings.timezone),
                                 village_ids=ids)
    except ValueError as exc:
        raise ApiError(422, "开始日期晚于结束日期", "`from` is after `to`") from exc


def csv_response(table: figures.Table, w: figures.Window) -> Response:
    filename = f"xiangzhu-{table.name}-{w.first.isoformat()}-{w.last.isoformat()}.csv"
    return Response(table.csv_text().encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _record_route(name: str, summary: str):
    async def export(request: Request, first: date | None = FROM, to: date | None = TO, area: str | None = AREA,
                     c: Caller = Depends(caller)):
        services = services_of(request)
        asked = {"from": first.isoformat() if first else None, "to": to.isoformat() if to else None, "area": area}
        if not authz.can_export_records(c.scope):
            async with services.db.session() as s:
                await audit.record(s, c.scope.actor, "export.refused", f"export:{name}", asked)
            raise ApiError(403, *RECORDS_ADMINS_ONLY)
        async with services.db.session() as s:
            w = await window_for(s, c.scope, first=first, last=to, area=area, services=services)
            table = await figures.RECORD_EXPORTS[name](s, w)
            await audit.record(s, c.scope.actor, f"export.{name}", f"export:{name}",
                               {**asked, "from": w.first.isoformat(), "to": w.last.isoformat(), "rows": len(table.rows)})
        return csv_response(table, w)

    router.add_api_route(f"/exports/{name}.csv", export, methods=["GET"], name=f"export_{name}",
                         summary=summary, response_class=Response, responses=CSV_RESPONSE)


def _totals_route(name: str):
    async def totals(request: Request, first: date | None = FROM, to: date | None = TO, area: str | None = AREA,
                     lang: str = Query("zh", pattern="^(zh|en)$", description="language of the labels"),
                     c: Caller = Depends(caller)):
        services = services_of(request)
        async with services.db.session() as s:
            w = await window_for(s, c.scope, first=first, last=to, area=area, services=services)
            table = await figures.chart(s, name, w, authz.aggregate_filter(c.scope, figures.CHART_AREA[name]), lang,
                                        now=now_of(services))
        return csv_response(table, w)

    zh, en = figures.CHART_TITLES[name]
    router.add_api_route(f"/exports/totals/{name}.csv", totals, methods=["GET"], name=f"totals_{name}",
                         summary=f"Totals: {en} ({zh}); every staff member, within their areas",
                         response_class=Response, responses=CSV_RESPONSE)


for _name, _summary in (
        ("cases", "Cases with the villager's name, phone and description (admins; audited)"),
        ("activities", "Sign-ups made in the range and their attendance, one row each, with names (admins; audited)"),
        ("handoffs", "Handoffs with villager, times to claim and first reply, satisfaction (admins; audited)"),
        ("referrals", "Referrals with case, agency, reason, villager and dates (admins; audited)"),
        ("checkins", "Return-to-poverty check-in answers with the household's name (admins; audited)")):
    _record_route(_name, _summary)
for _name in figures.CHARTS:
    _totals_route(_name)


@router.get("/reports/charts", summary="Every dashboard chart as JSON: title, columns, rows and the chart's series")
async def charts(request: Request, first: date | None = FROM, to: date | None = TO, area: str | None = AREA,
                 lang: str = Query("zh", pattern="^(zh|en)$"), c: Caller = Depends(caller)):
    services = services_of(request)
    async with services.db.session() as s:
        w = await window_for(s, c.scope, first=first, last=to, area=area, services=services)
        out = {}
        for name in figures.CHARTS:
            table = await figures.chart(s, name, w, authz.aggregate_filter(c.scope, figures.CHART_AREA[name]), lang,
                                        now=now_of(services))
            out[name] = {"title": figures.CHART_TITLES[name][0 if lang == "zh" else 1],
                         "columns": [k for k, _, _ in table.columns], "headers": table.headers(lang),
                         "rows": table.rows, "chart": table.chart}
    return {"from": w.first.isoformat(), "to": w.last.isoformat(), "area": area, "charts": out}
