"""/api/me and /api/areas: who is signed in, and the area tree."""
from __future__ import annotations

from fastapi import Depends, Request

from bot import authz
from bot.api.common import caller, me_json, resource_router, services_of
from bot.authz import Caller
from storage.areas import all_areas

router = resource_router()


@router.get("/me", summary="The signed-in account / 当前账号")
async def get_me(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        return await me_json(s, c)


@router.get("/areas", summary="The area tree: county → township → village")
async def get_areas(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        areas = await all_areas(s)
        codes = {a.id: a.code for a in areas}
        return {"areas": [{"code": a.code, "name": a.name, "name_en": a.name_en, "level": a.level,
                           "parent": codes.get(a.parent_id), "covered": authz.covers_area(c.scope, a.id)}
                          for a in areas]}
