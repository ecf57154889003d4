"""/api/broadcasts: send a message to a segment (a village, an activity's participants, or —
admins — everyone who consented) and read each broadcast's report."""
from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from bot import authz
from bot.api.common import (ADMINS_ONLY, ApiError, caller, iso, not_found, not_viewer, now_of, resource_router,
                            services_of, writer)
from bot.authz import Caller
from storage import broadcasts as broadcast_service
from storage.models import Broadcast

router = resource_router()


class BroadcastIn(BaseModel):
    segment: dict[str, Any] = Field(..., description='{"village": "v1"} | {"activity": 3} | {"everyone": true}')
    text: dict[str, str] = Field(..., description='{"zh": "...", "en": "..."}')


async def broadcast_json(s, b: Broadcast) -> dict:
    return {"id": b.id, "segment": b.segment, "text": b.text, "state": b.state, "created_by": b.created_by,
            "created_at": iso(b.created_at), "finished_at": iso(b.finished_at),
            "report": await broadcast_service.report(s, b.id)}


@router.post("/broadcasts", status_code=201, summary="Broadcast to a segment (rate-limited; quiet hours and opt-outs kept)")
async def create_broadcast(body: BroadcastIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    not_viewer(c)
    services = services_of(request)
    async with services.db.session() as s:
        try:
            _, area_id = await broadcast_service.segment_people(s, body.segment)
            if body.segment.get("everyone") and not c.scope.is_admin:
                raise ADMINS_ONLY
            if not body.segment.get("everyone") and not authz.covers_area(c.scope, area_id):
                raise ApiError(403, "这个范围不归您管", "this segment is outside your areas")
            b, _ = await broadcast_service.create(s, body.segment, body.text, created_by=c.scope.actor,
                                                  now=now_of(services))
        except broadcast_service.BroadcastError as exc:
            raise ApiError(422, "不能这样群发", str(exc)) from exc
        return await broadcast_json(s, b)


@router.get("/broadcasts", summary="Recent broadcasts with their reports")
async def list_broadcasts(request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        return {"broadcasts": [await broadcast_json(s, b) for b in await broadcast_service.listing(s)]}


@router.get("/broadcasts/{broadcast_id}", summary="One broadcast and its report")
async def get_broadcast(broadcast_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        b = await s.get(Broadcast, broadcast_id)
        if b is None:
            raise not_found("群发", "broadcast")
        return await broadcast_json(s, b)
