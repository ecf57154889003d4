"""/api/people: find villagers in the caller's areas, and one villager's record (audited)."""
from __future__ import annotations

from fastapi import Depends, Query, Request

from bot import authz
from bot.api.common import area_brief, caller, iso, mask_phone, not_found, not_viewer, resource_router, services_of
from bot.authz import Caller
from storage import audit
from storage import cases as case_service
from storage import handoffs as handoff_service
from storage import people as people_service
from storage.models import Person

router = resource_router()


@router.get("/people", summary="Find villagers in your areas by name or phone")
async def list_people(request: Request, q: str = Query("", max_length=100), limit: int = Query(50, ge=1, le=200),
                      c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        rows = await people_service.search_people(s, q, visible=authz.person_filter(c.scope), limit=limit)
        return {"people": [{"id": p.id, "display_name": p.display_name, "village": await area_brief(s, p.village_id),
                            "phone": mask_phone(p.phone), "consent_given": p.consent_given} for p in rows]}


@router.get("/people/{person_id}", summary="One villager's record (the read is audited)")
async def get_person(person_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        p = await s.get(Person, person_id)
        if p is None or not authz.can_see_person(c.scope, p):
            raise not_found("村民", "person")
        channels = await people_service.channels_of(s, p.id)
        cases = await case_service.cases_for_person(s, p.id)
        handoff = await handoff_service.open_handoff_for(s, p.id)
        await audit.record(s, c.scope.actor, "person.read", f"person:{p.id}")
        return {
            "id": p.id, "display_name": p.display_name, "phone": p.phone, "locale": p.locale,
            "village": await area_brief(s, p.village_id), "household": p.household,
            "consent_given": p.consent_given, "consent_at": iso(p.consent_at), "opted_out": p.opted_out,
            "erased": p.erased, "channels": channels, "created_at": iso(p.created_at),
            "last_seen_at": iso(p.last_seen_at),
            "cases": [{"number": x.number, "status": x.status, "category": x.category} for x in cases
                      if authz.can_see_case(c.scope, x)],
            "open_handoff": handoff.id if handoff and authz.can_see_handoff(c.scope, handoff) else None,
        }
