"""Offers of help through the bot (resource linking): register what someone can give, for a
worker to approve, and a villager's "收到了" for help that was delivered."""
from __future__ import annotations

from flows.mission.common import as_int
from flows.registry import ActionContext, action
from storage import offers as offer_store
from storage.models import utcnow


@action("register_offer", args={"kind": "text", "name": "text", "category": "text", "description": "text",
                                "quantity": "text", "unit": "text", "phone": "text"})
async def register_offer(ctx: ActionContext, kind: str, name: str, category: str, description: str,
                         quantity: str, unit: str, phone: str = "") -> dict:
    """Record an offer of help as `new` (a worker approves it before it is used); the area
    is the slot `village_id` (from find_village), none = the whole county.

        - action: register_offer
          args: {kind: "{{kind}}", name: "{{name}}", category: "{{category}}", description: "{{description}}",
                 quantity: "{{quantity}}", unit: "{{unit}}", phone: "{{phone}}"}
    """
    try:
        offer = await offer_store.create_offer(
            ctx.session, offerer_kind=kind, offerer_name=name or ctx.person.display_name or "?",
            categories=[category], description=description, quantity=as_int(quantity) or 1, unit=unit,
            area_id=ctx.slots.get("village_id"), contact=phone or "", offerer_person_id=ctx.person.id,
            now=ctx.now or utcnow())
    except offer_store.OfferError:
        return {"registered": False}
    return {"registered": True, "id": offer.id}


@action("offer_receipt")
async def offer_receipt(ctx: ActionContext) -> dict:
    """The villager says the help arrived: the newest delivered (or confirmed) match of their
    cases is marked received; found is false when nothing was on its way.

        - action: offer_receipt
    """
    match = await offer_store.awaiting_receipt(ctx.session, ctx.person.id)
    if match is None:
        return {"found": False}
    await offer_store.acknowledge_match(ctx.session, match, via="villager", text=ctx.turn.text or "",
                                        attachments=[{"kind": a.kind} for a in ctx.turn.attachments], now=ctx.now)
    return {"found": True}
