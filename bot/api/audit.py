"""/api/audit: the audit log — who read or changed what, and when. Admins see every entry;
supervisors the entries of the staff whose areas meet theirs (bot/authz.py); anyone else 403."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import Depends, Query, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import ApiError, caller, iso, resource_router, services_of
from bot.authz import Caller
from storage import audit
from storage.models import AuditEntry, Staff

router = resource_router()

SUPERVISORS_ONLY = ("只有管理员和督导可以查看审计日志", "only admins and supervisors may read the audit log")


async def actor_of(s: AsyncSession, actor: str | None) -> str | None:
    """`staff:3`, `person:5`, `system`, or a staff username."""
    if not actor or ":" in actor or actor == "system":
        return actor or None
    staff_id = (await s.execute(select(Staff.id).where(Staff.username == actor))).scalar_one_or_none()
    return f"staff:{staff_id}" if staff_id is not None else f"staff:{actor}"


def query_of(*, actor: str | None, action: str | None, subject: str | None, first: date | None, last: date | None,
             tz: ZoneInfo, limit: int = 100, offset: int = 0) -> audit.AuditQuery:
    return audit.AuditQuery(
        actor=actor, action=(action or "").strip() or None, subject=(subject or "").strip() or None,
        since=datetime.combine(first, time(), tz) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), tz) if last else None, limit=limit, offset=offset)


async def staff_names(s: AsyncSession, entries: list[AuditEntry]) -> dict[str, str]:
    ids = {int(e.actor.split(":", 1)[1]) for e in entries if e.actor.startswith("staff:") and e.actor[6:].isdigit()}
    if not ids:
        return {}
    rows = await s.execute(select(Staff.id, Staff.username).where(Staff.id.in_(sorted(ids))))
    return {f"staff:{i}": name for i, name in rows.all()}


@router.get("/audit", summary="The audit log, newest first (admins; supervisors: their staff's entries)")
async def audit_log(request: Request,
                    actor: str | None = Query(None, description="staff:ID, person:ID, system or a staff username"),
                    action: str | None = Query(None, description="exact, or a prefix: `export` finds export.cases"),
                    subject: str | None = Query(None, description="the record, e.g. person:5, XZ-2026-000001, "
                                                                  "handoff:3; `person:` finds every person"),
                    first: date | None = Query(None, alias="from", description="first local day, ISO date"),
                    to: date | None = Query(None, description="last local day, included, ISO date"),
                    limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0),
                    c: Caller = Depends(caller)):
    if not authz.can_read_audit(c.scope):
        raise ApiError(403, *SUPERVISORS_ONLY)
    services = services_of(request)
    async with services.db.session() as s:
        q = query_of(actor=await actor_of(s, actor), action=action, subject=subject, first=first, last=to,
                     tz=ZoneInfo(services.settings.timezone), limit=limit, offset=offset)
        entries, total = await audit.find(s, q, visible=await authz.audit_filter(s, c.scope))
        names = await staff_names(s, entries)
    return {"total": total, "limit": limit, "offset": offset,
            "entries": [{"id": e.id, "at": iso(e.at), "actor": e.actor, "actor_name": names.get(e.actor),
                         "action": e.action, "subject": e.target, "data": e.data} for e in entries]}
