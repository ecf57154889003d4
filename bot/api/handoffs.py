"""/api/handoffs: conversations handed to a social worker — list, claim, answer, transfer, close."""
from __future__ import annotations

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import (
    ApiError,
    caller,
    handoff_json,
    not_found,
    not_viewer,
    now_of,
    resource_router,
    services_of,
    username,
    writer,
)
from bot.authz import Caller, StaffScope
from storage import audit
from storage import handoffs as handoff_service
from storage import staff as staff_service
from storage.models import Handoff

router = resource_router()


async def _visible_handoff(s: AsyncSession, scope: StaffScope, handoff_id: int) -> Handoff:
    h = await s.get(Handoff, handoff_id)
    if h is None or not authz.can_see_handoff(scope, h):
        raise not_found("转人工对话", "handoff")
    return h


@router.get("/handoffs", summary="Handoffs in your areas, urgent first (default: open ones)")
async def list_handoffs(request: Request, status: str | None = Query(None, description="waiting | claimed | closed"),
                        limit: int = Query(100, ge=1, le=500), c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        rows = await handoff_service.list_handoffs(s, status=status, limit=limit, visible=authz.handoff_filter(c.scope))
        return {"handoffs": [await handoff_json(s, h) for h in rows]}


@router.get("/handoffs/{handoff_id}", summary="One handoff")
async def get_handoff(handoff_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        return await handoff_json(s, await _visible_handoff(s, c.scope, handoff_id))


@router.post("/handoffs/{handoff_id}/claim", summary="Claim a waiting handoff (one claimer wins)")
async def claim(handoff_id: int, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        if not await handoff_service.claim_handoff(s, h.id, c.scope.staff_id, now=now_of(services)):
            await s.refresh(h)
            who = await username(s, h.claimed_by_staff_id)
            raise ApiError(409, f"已经被{who or '别人'}认领或已结束", f"already claimed by {who or 'someone'} or closed")
        await s.refresh(h)
        return await handoff_json(s, h)


class MessageIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


@router.post("/handoffs/{handoff_id}/messages", status_code=201, summary="Answer the villager (sent through the bot)")
async def send_message(handoff_id: int, body: MessageIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        try:
            await handoff_service.relay_to_villager(s, h, c.scope.staff_id, body.text, now=now_of(services))
        except handoff_service.HandoffError as exc:
            raise ApiError(409, "现在不能回复", str(exc)) from exc
        await audit.record(s, c.scope.actor, "handoff.message", f"handoff:{h.id}")
        return {"handoff": h.id, "queued": True}


def _may_manage(scope: StaffScope, h: Handoff) -> bool:
    return h.claimed_by_staff_id == scope.staff_id or scope.role in ("admin", "supervisor")


class TransferIn(BaseModel):
    to: str | None = Field(None, description="a staff username; null puts the handoff back in the queue")


@router.post("/handoffs/{handoff_id}/transfer", summary="Give the handoff to another worker or back to the queue")
async def transfer(handoff_id: int, body: TransferIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    async with services_of(request).db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        if not _may_manage(c.scope, h) and h.status == "claimed":
            raise ApiError(403, "只有认领的社工或督导可以转交", "only the claiming worker or a supervisor may transfer")
        to_id = None
        if body.to:
            target = await staff_service.find_staff(s, body.to)
            if target is None or not target.active:
                raise ApiError(422, f"没有在职账号“{body.to}”", f"no active staff account '{body.to}'")
            tscope = await authz.scope_for(s, target)
            if not authz.can_change_handoff(tscope, h) and not (
                    tscope.can_write and authz.covers_area(tscope, h.village_id)):
                raise ApiError(422, f"“{body.to}”不负责这个村", f"'{body.to}' does not cover this villager's village")
            to_id = target.id
        try:
            await handoff_service.transfer_handoff(s, h, to_id, by_staff_id=c.scope.staff_id)
        except handoff_service.HandoffError as exc:
            raise ApiError(409, "不能转交", str(exc)) from exc
        return await handoff_json(s, h)


class CloseIn(BaseModel):
    outcome: str = Field("", max_length=4000)


@router.post("/handoffs/{handoff_id}/close", summary="End the conversation; the villager is back with the bot")
async def close(handoff_id: int, body: CloseIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        h = await _visible_handoff(s, c.scope, handoff_id)
        if not _may_manage(c.scope, h) and h.status == "claimed":
            raise ApiError(403, "只有认领的社工或督导可以结束", "only the claiming worker or a supervisor may close")
        await handoff_service.close_handoff(s, h, outcome=body.outcome, by_staff_id=c.scope.staff_id,
                                            now=now_of(services))
        return await handoff_json(s, h)
