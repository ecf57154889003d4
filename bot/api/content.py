"""/api/flows and /api/policies: the content admins edit (flows are validated before they are saved)."""
from __future__ import annotations

import re

from fastapi import Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.api.common import (
    ADMINS_ONLY,
    VIEWER_ONLY_TOTALS,
    ApiError,
    caller,
    iso,
    not_found,
    now_of,
    resource_router,
    services_of,
)
from bot.authz import Caller
from flows.store import save_draft
from flows.validate import FlowValidationError
from storage import flow_store
from storage import policies as policy_service
from storage.models import Flow

router = resource_router()


def _content_reader(c: Caller) -> None:
    if not authz.can_read_content(c.scope):
        raise VIEWER_ONLY_TOTALS


def _content_editor(c: Caller) -> None:
    if not authz.can_edit_content(c.scope):
        raise ADMINS_ONLY


async def _flow_json(s: AsyncSession, flow_id: str) -> dict:
    flow = await s.get(Flow, flow_id)
    if flow is None:
        raise not_found("流程", "flow")
    versions = await flow_store.versions_of(s, flow_id)
    current = next((v for v in versions if v.id == flow.current_version_id), None)
    latest = versions[0] if versions else None
    shown = latest or current
    return {
        "id": flow.id, "version": shown.version if shown else None, "yaml": shown.yaml if shown else "",
        "published_version": current.version if current else None,
        "draft": bool(latest and current and latest.version > current.version) or bool(latest and not current),
        "updated_at": iso(flow.updated_at),
        "versions": [{"version": v.version, "created_by": v.created_by, "created_at": iso(v.created_at),
                      "published_at": iso(v.published_at)} for v in versions],
    }


@router.get("/flows", summary="All flows with their published and newest versions")
async def list_flows(request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        ids = await flow_store.flow_ids(s)
        return {"flows": [{k: v for k, v in (await _flow_json(s, i)).items() if k != "yaml"} for i in ids]}


@router.get("/flows/{flow_id}", summary="A flow: its newest version's YAML (a draft if there is one)")
async def get_flow(flow_id: str, request: Request, c: Caller = Depends(caller)):
    _content_reader(c)
    async with services_of(request).db.session() as s:
        return await _flow_json(s, flow_id)


class FlowIn(BaseModel):
    yaml: str = Field(..., min_length=1)


@router.put("/flows/{flow_id}", summary="Save a draft after validating (422 lists file:line:column errors)")
async def put_flow(flow_id: str, body: FlowIn, request: Request, c: Caller = Depends(caller)):
    _content_editor(c)
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", flow_id):
        raise ApiError(422, "流程编号只能用小写字母、数字和下划线", "a flow id is lower-case letters, digits and _")
    async with services_of(request).db.session() as s:
        try:
            await save_draft(s, flow_id, body.yaml, created_by=c.scope.actor)
        except FlowValidationError as exc:
            raise ApiError(422, "流程有错误，没有保存", "the flow has errors and was not saved",
                           errors=[str(e) for e in exc.errors]) from exc
        return await _flow_json(s, flow_id)


@router.post("/flows/{flow_id}/publish", summary="Publish the newest version; every process picks it up")
async def publish_flow(flow_id: str, request: Request, c: Caller = Depends(caller)):
    _content_editor(c)
    services = services_of(request)
    async with services.db.session() as s:
        if await s.get(Flow, flow_id) is None:
            raise not_found("流程", "flow")
        try:
            await flow_store.publish(s, flow_id, by=c.scope.actor, now=now_of(services))
        except flow_store.FlowStoreError as exc:
            raise ApiError(422, "不能发布", str(exc)) from exc
        return await _flow_json(s, flow_id)


@router.get("/policies", summary="The policy knowledge base: published versions")
async def list_policies(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        return {"policies": [{
            "id": v.policy_id, "version": v.version, "title": v.title, "summary": v.summary,
            "effective_date": v.effective_date.isoformat() if v.effective_date else None,
            "published_at": iso(v.published_at), "sources": v.sources,
        } for v in await policy_service.current_policies(s)]}
