"""Consent (PIPL): nothing personal is stored before a person agrees."""
from __future__ import annotations

from flows.registry import ActionContext, action
from storage import audit, people


@action("consent_status")
async def consent_status(ctx: ActionContext) -> dict:
    """Whether the person has agreed to let us keep their details.

        - action: consent_status
        - branch:
            - if: result.given
              goto: menu
    """
    return {"given": bool(ctx.person.consent_given)}


@action("give_consent")
async def give_consent(ctx: ActionContext) -> dict:
    """Record that the person agreed (the time is kept; the audit log says who).

        - action: give_consent
    """
    if not ctx.person.consent_given:
        await people.give_consent(ctx.session, ctx.person.id, ctx.now)
        ctx.person.consent_given = True
        ctx.person.consent_at = ctx.now
        if ctx.person.erased:
            ctx.person.erased = False  # a person who erased their data may start again
        await audit.record(ctx.session, f"person:{ctx.person.id}", "consent.give")
    return {"given": True}
