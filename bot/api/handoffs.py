"""/api/handoffs: conversations handed to a social worker — list, read, claim, answer, note,
transfer, release, close — and /api/saved-answers. Every action goes through the desk service
(bot/desk/service.py), as the messenger commands and the web pages do."""
from __future__ import annotations

from contextlib import contextmanager

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from bot.api.common import (
    ApiError,
    caller,
    handoff_json,
    iso,
    not_found,
    not_viewer,
    now_of,
    resource_router,
    services_of,
    username,
    writer,
)
from bot.authz import Caller
from bot.desk import service
from storage.routing import DeskRules

router = resource_router()


@contextmanager
def _desk_errors():
    try:
        yield
    except service.DeskNotFound as exc:
        raise not_found("转人工对话", "handoff") from exc
    except service.DeskError as exc:
        raise ApiError(exc.status, exc.zh, exc.en) from exc


@router.get("/handoffs", summary="Handoffs in your areas: emergency, urgent, normal, then oldest (default: open ones)")
async def list_handoffs(request: Request, status: str | None = Query(None, description="waiting | claimed | closed"),
                        limit: int = Query(100, ge=1, le=500), c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        with _desk_errors():
            views = await service.queue(s, c.scope, status=status, limit=limit)
        return {"handoffs": [await handoff_json(s, v.handoff) for v in views]}


@router.get("/handoffs/{handoff_id}", summary="One handoff with its summary and private notes (the read is audited)")
async def get_handoff(handoff_id: int, request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        with _desk_errors():
            v = await service.view(s, c.scope, handoff_id)
        return {**await handoff_json(s, v.handoff),
                "open_cases": v.summary.open_cases,
                "last_messages": [{"direction": d, "text": t} for d, t in v.summary.last_messages],
                "notes": [{"text": n.text, "staff": await username(s, n.staff_id), "at": iso(n.created_at)}
                          for n in v.notes],
                "satisfaction": v.handoff.satisfaction}


@router.post("/handoffs/{handoff_id}/claim", summary="Claim a waiting handoff (one claimer wins)")
async def claim(handoff_id: int, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        with _desk_errors():
            result = await service.claim(s, c.scope, handoff_id, now=now_of(services))
        if not result.won:
            who = await username(s, result.handoff.claimed_by_staff_id)
            raise ApiError(409, f"已经被{who or '别人'}认领或已结束", f"already claimed by {who or 'someone'} or closed")
        return await handoff_json(s, result.handoff)


class MessageIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


@router.post("/handoffs/{handoff_id}/messages", status_code=201,
             summary="Answer the villager (sent through the bot, signed with your name)")
async def send_message(handoff_id: int, body: MessageIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        with _desk_errors():
            h = await service.reply(s, c.scope, handoff_id, body.text, now=now_of(services))
        return {"handoff": h.id, "queued": True}


class NoteIn(BaseModel):
    text: str = Field(..., min_length=1, max_length=4000)


@router.post("/handoffs/{handoff_id}/notes", status_code=201, summary="A private note (never sent to the villager)")
async def add_note(handoff_id: int, body: NoteIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        with _desk_errors():
            note = await service.note(s, c.scope, handoff_id, body.text, now=now_of(services))
        return {"id": note.id, "handoff": handoff_id}


class TransferIn(BaseModel):
    to: str | None = Field(None, description="a staff username; null puts the handoff back in the queue")


@router.post("/handoffs/{handoff_id}/transfer", summary="Give the handoff to another worker or back to the queue")
async def transfer(handoff_id: int, body: TransferIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    async with services_of(request).db.session() as s:
        with _desk_errors():
            h = await service.transfer(s, c.scope, handoff_id, body.to)
        return await handoff_json(s, h)


@router.post("/handoffs/{handoff_id}/release", summary="Back to the queue (offered again to whoever is on duty)")
async def release(handoff_id: int, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        with _desk_errors():
            h = await service.release(s, c.scope, handoff_id, now=now_of(services),
                                      rules=DeskRules.from_settings(services.settings))
        return await handoff_json(s, h)


class CloseIn(BaseModel):
    outcome: str = Field("", max_length=4000)


@router.post("/handoffs/{handoff_id}/close", summary="End the conversation; the villager is back with the bot")
async def close(handoff_id: int, body: CloseIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    services = services_of(request)
    async with services.db.session() as s:
        with _desk_errors():
            h = await service.close(s, c.scope, handoff_id, body.outcome, now=now_of(services))
        return await handoff_json(s, h)


@router.get("/saved-answers", summary="Your saved answers and the shared ones")
async def saved_answers(request: Request, c: Caller = Depends(caller)):
    not_viewer(c)
    async with services_of(request).db.session() as s:
        return {"saved_answers": [{"name": a.name, "text": a.text, "shared": a.staff_id is None}
                                  for a in await service.list_saved(s, c.scope)]}


class SavedAnswerIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    text: str = Field(..., min_length=1, max_length=4000)
    shared: bool = Field(False, description="admins: a shared answer for everyone")


@router.put("/saved-answers", summary="Keep a saved answer ({name} {village} {case} are filled in when sent)")
async def put_saved_answer(body: SavedAnswerIn, request: Request, c: Caller = Depends(caller)):
    writer(c)
    async with services_of(request).db.session() as s:
        with _desk_errors():
            a = await service.save_answer(s, c.scope, body.name, body.text, shared=body.shared)
        return {"name": a.name, "text": a.text, "shared": a.staff_id is None}
