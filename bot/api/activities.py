"""/api/activities: activities with seat counts, an activity's roster, moving and cancelling."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from bot import authz
from bot.api.common import (ApiError, area_brief, caller, iso, not_found, not_viewer, now_of, resource_router,
                            services_of, writer)
from bot.authz import Caller
from storage import activities as activity_service
from storage import audit
from storage.models import Activity, Person

router = resource_router()


async def activity_json(s, a: Activity, counts: dict[str, int]) -> dict:
    return {
        "id": a.id, "kind": a.kind, "title": a.title, "title_en": a.title_en, "place": a.place,
        "starts_at": iso(a.starts_at), "ends_at": iso(a.ends_at), "capacity": a.capacity,
        "status": a.status, "area": await area_brief(s, a.area_id), "audience": a.audience,
        "confirmed": counts.get("confirmed", 0), "waitlisted": counts.get("waitlisted", 0),
        "offered": counts.get("offered", 0), "attended": counts.get("attended", 0),
    }


@router.get("/activities", summary="Activities with seat counts (no personal data)")
async def list_activities(request: Request, status: str | None = Query(None, description="open | closed | cancelled"),
                          c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        rows = await activity_service.list_with_counts(s, status=status)
        return {"activities": [await activity_json(s, a, counts) for a, counts in rows]}


class ActivityPatch(BaseModel):
    starts_at: datetime | None = Field(None, description="new start, with a time zone; reminders move, people are told")
    place: str | None = Field(None, max_length=200, description="new place; people are told")
    status: Literal["cancelled"] | None = Field(None, description="cancelled: every sign-up ends, people are told")


@router.patch("/activities/{activity_id}", summary="Move (starts_at, place) or cancel an activity; participants are told")
async def patch_activity(activity_id: int, body: ActivityPatch, request: Request, c: Caller = Depends(caller)):
    writer(c)
    not_viewer(c)
    services = services_of(request)
    now = now_of(services)
    async with services.db.session() as s:
        a = await s.get(Activity, activity_id)
        if a is None or not authz.can_see_roster(c.scope, a):
            raise not_found("活动", "activity")
        if body.status is None and body.starts_at is None and body.place is None:
            raise ApiError(422, "没有要改的内容", "nothing to change: give starts_at, place or status")
        try:
            if body.status == "cancelled":
                a, told = await activity_service.cancel_activity(s, a.id, actor=c.scope.actor, now=now)
            else:
                a, told = await activity_service.move_activity(s, a.id, starts_at=body.starts_at, place=body.place,
                                                               actor=c.scope.actor, now=now)
        except activity_service.EnrollmentError as exc:
            raise ApiError(409 if exc.code == "closed" else 422, "不能这样修改活动", str(exc), code=exc.code) from exc
        counts = {st: n for st, n in (await activity_service.status_counts(s, a.id)).items()}
        return {**await activity_json(s, a, counts), "told": told}


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
            deadline = await activity_service.offer_deadline(s, e.id) if e.status == "offered" else None
            out.append({"id": e.id, "status": e.status, "waitlist_position": e.waitlist_position,
                        "offer_deadline": iso(deadline), "person_id": e.person_id, "name": e.participant_name or (person.display_name if person else ""),
                        "for_someone_else": bool(e.participant_name), "created_at": iso(e.created_at)})
        await audit.record(s, c.scope.actor, "activity.roster.read", f"activity:{a.id}")
        return {"activity": a.id, "enrollments": out}
