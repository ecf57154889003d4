"""The dashboard (/dashboard): every chart of bot/figures.py for a date range and an area,
drawn by Apache ECharts (served from /static/vendor; static/dashboard.js reads each chart's
data from its `data-chart` attribute, as the strict CSP allows no inline script), each with
its table and a link to its CSV (/api/exports/totals/...). Admins also get the record
exports. Every staff member may open it, viewers too: the charts are totals within the
caller's areas, never a personal field."""
from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from fastapi import APIRouter, Request

from bot import authz, figures
from bot.api.common import ApiError, now_of, services_of
from bot.api.exports import window_for
from bot.web.dashboard_texts import DASH
from bot.web.rendering import lang_of, message_page, page_caller, render, texts, to_signin
from storage.areas import all_areas

router = APIRouter(include_in_schema=False)


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


async def _area_choices(s, scope: authz.StaffScope, lang: str) -> list[dict]:
    everything = scope.is_admin or (scope.is_viewer and not scope.covered)
    depth = {"county": 0, "township": 1, "village": 2}
    return [{"code": a.code, "name": (a.name_en or a.name) if lang == "en" else a.name,
             "depth": depth.get(a.level, 2)}
            for a in await all_areas(s) if everything or a.id in scope.covered]


@router.get("/dashboard")
async def dashboard(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    services, lang = services_of(request), lang_of(request)
    d, q = DASH[lang], request.query_params
    area = q.get("area") or None
    async with services.db.session() as s:
        try:
            w = await window_for(s, who.scope, first=_day(q.get("from")), last=_day(q.get("to")), area=area,
                                 services=services)
        except ApiError as exc:
            if exc.status == 404:
                return message_page(request, 404, texts(request)["not_found"], who)
            return message_page(request, 422, d["bad_dates"] if "after" in exc.message else exc.message, who)
        charts = []
        for name in figures.CHARTS:
            table = await figures.chart(s, name, w, authz.aggregate_filter(who.scope, figures.CHART_AREA[name]),
                                        lang, now=now_of(services))
            charts.append({"name": name, "title": figures.CHART_TITLES[name][0 if lang == "zh" else 1],
                           "headers": table.headers(lang), "cells": table.cells(), "chart": table.chart})
        choices = await _area_choices(s, who.scope, lang)
    params = {"from": w.first.isoformat(), "to": w.last.isoformat(), **({"area": area} if area else {})}
    return render(request, "dashboard.html", who=who, d=d, charts=charts, choices=choices, area=area or "",
                  first=w.first.isoformat(), last=w.last.isoformat(), query=urlencode({**params, "lang": lang}),
                  record_query=urlencode(params), records=list(figures.RECORD_EXPORTS) if
                  authz.can_export_records(who.scope) else [])
