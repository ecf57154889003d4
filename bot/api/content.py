"""/api/policies: the policy knowledge base (flows are in bot/api/flows.py)."""
from __future__ import annotations

from fastapi import Depends, Request

from bot.api.common import caller, iso, resource_router, services_of
from bot.authz import Caller
from storage import policies as policy_service

router = resource_router()


@router.get("/policies", summary="The policy knowledge base: published versions")
async def list_policies(request: Request, c: Caller = Depends(caller)):
    async with services_of(request).db.session() as s:
        return {"policies": [{
            "id": v.policy_id, "version": v.version, "title": v.title, "summary": v.summary,
            "effective_date": v.effective_date.isoformat() if v.effective_date else None,
            "published_at": iso(v.published_at), "sources": v.sources,
        } for v in await policy_service.current_policies(s)]}
