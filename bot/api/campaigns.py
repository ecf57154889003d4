"""/api/campaigns: campaigns as data (admins). A document with problems answers 422 with
`errors: ["campaign:line:column: message", …]`; editing reschedules every pending row."""
from __future__ import annotations

from fastapi import Depends, Request
from pydantic import BaseModel, Field

from bot.api.common import ADMINS_ONLY, ApiError, caller, iso, not_found, now_of, resource_router, services_of
from bot.authz import Caller
from flows.campaigns import parse_campaign
from storage import campaigns as campaign_service
from storage.models import Campaign

router = resource_router()


class CampaignIn(BaseModel):
    yaml: str = Field(..., max_length=20000, description="the campaign document (docs/reminders.md)")


def _admin(c: Caller) -> None:
    if not c.scope.is_admin:
        raise ADMINS_ONLY


def _spec(yaml_text: str) -> dict:
    spec, errors = parse_campaign(yaml_text, "campaign")
    if errors:
        raise ApiError(422, "活动计划有问题", "the campaign has problems", errors=[str(e) for e in errors])
    return spec


async def campaign_json(s, c: Campaign) -> dict:
    return {"id": c.id, "name": c.name, "state": c.state, "version": c.version, "spec": c.spec, "yaml": c.yaml,
            "created_by": c.created_by, "created_at": iso(c.created_at), "updated_at": iso(c.updated_at),
            "pending": await campaign_service.pending_count(s, c.id), "report": await campaign_service.report(s, c.id)}


async def _get(s, campaign_id: int) -> Campaign:
    try:
        return await campaign_service.get(s, campaign_id)
    except campaign_service.CampaignError:
        raise not_found("活动计划", "campaign") from None


@router.get("/campaigns", summary="Campaigns with their pending message counts")
async def list_campaigns(request: Request, c: Caller = Depends(caller)):
    _admin(c)
    async with services_of(request).db.session() as s:
        return {"campaigns": [await campaign_json(s, x) for x in await campaign_service.listing(s)]}


@router.post("/campaigns", status_code=201, summary="Add a campaign from its YAML; its messages are scheduled")
async def add_campaign(body: CampaignIn, request: Request, c: Caller = Depends(caller)):
    _admin(c)
    spec = _spec(body.yaml)
    services = services_of(request)
    async with services.db.session() as s:
        try:
            campaign, rows = await campaign_service.add(s, body.yaml, spec, tz=services.settings.timezone,
                                                        by=c.scope.actor, now=now_of(services))
        except campaign_service.CampaignError as exc:
            raise ApiError(422, "活动计划有问题", str(exc)) from exc
        return {**await campaign_json(s, campaign), "scheduled": rows}


@router.get("/campaigns/{campaign_id}", summary="One campaign")
async def get_campaign(campaign_id: int, request: Request, c: Caller = Depends(caller)):
    _admin(c)
    async with services_of(request).db.session() as s:
        return await campaign_json(s, await _get(s, campaign_id))


@router.put("/campaigns/{campaign_id}", summary="Replace a campaign's YAML: pending messages are rescheduled")
async def edit_campaign(campaign_id: int, body: CampaignIn, request: Request, c: Caller = Depends(caller)):
    _admin(c)
    spec = _spec(body.yaml)
    services = services_of(request)
    async with services.db.session() as s:
        await _get(s, campaign_id)
        try:
            campaign, cancelled, rows = await campaign_service.edit(
                s, campaign_id, body.yaml, spec, tz=services.settings.timezone, by=c.scope.actor, now=now_of(services))
        except campaign_service.CampaignError as exc:
            raise ApiError(422, "活动计划有问题", str(exc)) from exc
        return {**await campaign_json(s, campaign), "cancelled": cancelled, "scheduled": rows}


class StateIn(BaseModel):
    state: str = Field(..., pattern="^(active|paused)$")


@router.post("/campaigns/{campaign_id}/state", summary="Pause (pending messages cancelled) or resume a campaign")
async def set_campaign_state(campaign_id: int, body: StateIn, request: Request, c: Caller = Depends(caller)):
    _admin(c)
    services = services_of(request)
    async with services.db.session() as s:
        await _get(s, campaign_id)
        campaign, _ = await campaign_service.set_state(s, campaign_id, body.state, tz=services.settings.timezone,
                                                       by=c.scope.actor, now=now_of(services))
        return await campaign_json(s, campaign)


@router.delete("/campaigns/{campaign_id}", summary="Remove a campaign (pending messages cancelled)")
async def remove_campaign(campaign_id: int, request: Request, c: Caller = Depends(caller)):
    _admin(c)
    services = services_of(request)
    async with services.db.session() as s:
        await _get(s, campaign_id)
        campaign, cancelled = await campaign_service.set_state(s, campaign_id, "removed",
                                                               tz=services.settings.timezone, by=c.scope.actor,
                                                               now=now_of(services))
        return {"id": campaign.id, "state": campaign.state, "cancelled": cancelled}
