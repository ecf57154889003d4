"""The audit log page (/audit): who read or changed what, and when, newest first, filtered by
who, action, record and date range — the same query as GET /api/audit (storage/audit.py) and
the same rule of who may read which entries (bot/authz.py: admins everything, supervisors the
entries of the staff in their areas). A `person:N` record shows the villager's name when the
caller may see that person; names are escaped like everything a villager wrote."""
from __future__ import annotations

import json
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from sqlalchemy import select

from bot import authz
from bot.api.audit import actor_of, query_of, staff_names
from bot.api.common import services_of
from bot.web.dashboard import _day
from bot.web.dashboard_texts import DASH
from bot.web.rendering import lang_of, message_page, page_caller, render, texts, to_signin
from storage import audit
from storage.models import Person

router = APIRouter(include_in_schema=False)

PAGE = 50


async def _people(s, scope, entries) -> dict[str, str]:
    ids = {int(e.target.split(":", 1)[1]) for e in entries
           if e.target.startswith("person:") and e.target[7:].isdigit()}
    if not ids:
        return {}
    found = (await s.execute(select(Person).where(Person.id.in_(sorted(ids))))).scalars()
    return {f"person:{p.id}": p.display_name for p in found
            if not p.erased and p.display_name and (scope.is_admin or authz.can_see_person(scope, p))}


def _link(target: str) -> str | None:
    if target.startswith("XZ-"):
        return f"/cases/{target}"
    if target.startswith("handoff:") and target[8:].isdigit():
        return f"/handoffs/{target[8:]}"
    return None


@router.get("/audit")
async def audit_page(request: Request):
    who = await page_caller(request)
    if who is None:
        return to_signin(request)
    if not authz.can_read_audit(who.scope):
        return message_page(request, 404, texts(request)["not_found"], who)
    services, q = services_of(request), request.query_params
    d = DASH[lang_of(request)]
    try:
        offset = max(0, int(q.get("offset", "0")))
    except ValueError:
        offset = 0
    filters = {k: (q.get(k) or "").strip() for k in ("actor", "action", "subject", "from", "to")}
    async with services.db.session() as s:
        query = query_of(actor=await actor_of(s, filters["actor"] or None), action=filters["action"],
                         subject=filters["subject"], first=_day(filters["from"]), last=_day(filters["to"]),
                         tz=ZoneInfo(services.settings.timezone), limit=PAGE, offset=offset)
        entries, total = await audit.find(s, query, visible=await authz.audit_filter(s, who.scope))
        names, people = await staff_names(s, entries), await _people(s, who.scope, entries)
    rows = [{"id": e.id, "at": e.at, "actor": e.actor, "actor_name": names.get(e.actor, e.actor), "action": e.action,
             "target": e.target, "person": people.get(e.target), "link": _link(e.target),
             "data": json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data else ""} for e in entries]
    kept = {k: v for k, v in filters.items() if v}
    more = f"/audit?{urlencode({**kept, 'offset': offset + PAGE})}" if offset + PAGE < total else None
    return render(request, "audit.html", who=who, d=d, rows=rows, total=total, filters=filters, more=more)
