"""/api/reports: aggregated figures (viewers too, within their areas)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request

from bot import authz
from bot.api.common import caller, now_of, resource_router, services_of
from bot.authz import Caller
from bot.desk.report import default_window, handoff_report
from storage.models import Handoff

router = resource_router()


@router.get("/reports/handoffs", summary="Handoff figures: count, time to claim and first reply p50/p90, "
                                          "by area and priority, escalations, satisfaction")
async def handoffs_report(request: Request,
                          since: datetime | None = Query(None, description="ISO date or time (default: 30 days ago)"),
                          until: datetime | None = Query(None, description="ISO date or time, exclusive (default: now)"),
                          c: Caller = Depends(caller)):
    services = services_of(request)
    tz = ZoneInfo(services.settings.timezone)  # a bare date is a local day
    since = since.replace(tzinfo=tz) if since is not None and since.tzinfo is None else since
    until = until.replace(tzinfo=tz) if until is not None and until.tzinfo is None else until
    start, end = default_window(now_of(services), since, until)
    async with services.db.session() as s:
        return await handoff_report(s, since=start, until=end,
                                    visible=authz.aggregate_filter(c.scope, Handoff.village_id))
