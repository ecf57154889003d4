"""/api/people/{id}/flags: a worker flags a villager's household (e.g. for the monthly
return-to-poverty check-in, storage/flags.py) or clears the flag. Staff covering the
person's village only; every change is audited."""
from __future__ import annotations

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from bot import authz
from bot.api.common import ApiError, caller, iso, not_found, not_viewer, now_of, resource_router, services_of, writer
from bot.authz import Caller
from storage import flags as flag_service
from storage.models import Flag, Person

router = resource_router()


class FlagIn(BaseModel):
    kind: str = Field(flag_service.WATCH, description=" | ".join(flag_service.KINDS))
    reason: str = Field("", max_length=2000)


def flag_json(f: Flag) -> dict:
    return {"id": f.id, "person_id": f.person_id, "kind": f.kind, "reason": f.reason, "staff_id": f.staff_id,
            "created_at": iso(f.created_at), "last_answer_at": iso(f.last_answer_at), "cleared_at": iso(f.cleared_at)}


async def _person(s, c: Caller, person_id: int) -> Person:
    p = await s.get(Person, person_id)
    if p is None or p.erased or not authz.can_see_person(c.scope, p):
        raise not_found("村民", "person")
    return p


@router.get("/people/{person_id}/flags", summary="A villager's active flags")
async def list_flags(person_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        p = await _person(s, c, person_id)
        return {"flags": [flag_json(f) for f in await flag_service.flags_of(s, p.id)]}


@router.post("/people/{person_id}/flags", status_code=201,
             summary="Flag a villager's household (return_to_poverty_watch starts the monthly check-in)")
async def add_flag(person_id: int, body: FlagIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    not_viewer(c)
    services = services_of(request)
    async with services.db.session() as s:
        p = await _person(s, c, person_id)
        try:
            flag, created = await flag_service.add_flag(s, p.id, body.kind, reason=body.reason,
                                                        staff_id=c.scope.staff_id, now=now_of(services))
        except flag_service.FlagError as exc:
            raise ApiError(422, "不能这样标记", str(exc)) from exc
        return {**flag_json(flag), "created": created}


@router.delete("/people/{person_id}/flags/{flag_id}", summary="Clear a flag (its check-ins stop)")
async def clear_flag(person_id: int, flag_id: int, request: Request, c: Caller = Depends(caller)):
    writer(c)
    not_viewer(c)
    services = services_of(request)
    async with services.db.session() as s:
        p = await _person(s, c, person_id)
        flag = await flag_service.clear_flag(s, flag_id, person_id=p.id, staff_id=c.scope.staff_id,
                                             now=now_of(services))
        if flag is None:
            raise not_found("标记", "flag")
        return flag_json(flag)
