"""/api/activities: activities with seat counts, and an activity's roster."""
from __future__ import annotations

from fastapi import Depends, Query, Request

from bot import authz
from bot.api.common import area_brief, caller, iso, not_found, not_viewer, resource_router, services_of
from bot.authz import Caller
from storage import activities as activity_service
from storage import audit
from storage.models import Activity, Person

router = resource_router()


@router.get("/activities", summary="Activities with seat counts (no personal data)")
async def list_activities(request: Request, status: str | None = Query(None, description="open | closed | cancelled"),
                          c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        rows = await activity_service.list_with_counts(s, status=status)
        return {"activities": [{
            "id": a.id, "kind": a.kind, "title": a.title, "title_en": a.title_en, "place": a.place,
            "starts_at": iso(a.starts_at), "ends_at": iso(a.ends_at), "capacity": a.capacity,
            "status": a.status, "area": await area_brief(s, a.area_id), "audience": a.audience,
            "confirmed": counts.get("confirmed", 0), "waitlisted": counts.get("waitlisted", 0),
            "attended": counts.get("attended", 0),
        } for a, counts in rows]}


@router.get("/activities/{activity_id}/enrollments", summary="The roster of an activity (names: area staff only)")
async def list_enrollments(activity_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        a = await s.get(Activity, activity_id)
        if a is None or not authz.can_see_roster(c.scope, a):
            raise not_found("活动", "activity")
        out = []
        for e in await activity_service.roster(s, a.id):
            person = await s.get(Person, e.person_id)
            out.append({"id": e.id, "status": e.status, "waitlist_position": e.waitlist_position,
                        "person_id": e.person_id, "name": e.participant_name or (person.display_name if person else ""),
                        "for_someone_else": bool(e.participant_name), "created_at": iso(e.created_at)})
        await audit.record(s, c.scope.actor, "activity.roster.read", f"activity:{a.id}")
        return {"activity": a.id, "enrollments": out}
