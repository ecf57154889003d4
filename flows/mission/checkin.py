"""Return-to-poverty check-ins: record the household's three answers (storage/flags.py)."""
from __future__ import annotations

from flows.mission.common import as_int
from flows.registry import ActionContext, action
from storage import flags as flag_store


def _yes(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "yes", "1", "是", "有")


@action("record_checkin", args={"flag": "any", "income_dropped": "any", "illness": "any", "disaster": "any"})
async def record_checkin(ctx: ActionContext, flag, income_dropped, illness, disaster) -> dict:
    """Record a check-in (yes/no answers); a hardship opens a case for the village.
    `outcome`: fine, case_opened (with `number`) or not_found.

        - action: record_checkin
          args: {flag: "{{flag}}", income_dropped: "{{income_dropped}}", illness: "{{illness}}",
                 disaster: "{{disaster}}"}
    """
    answers = {"income_dropped": _yes(income_dropped), "illness": _yes(illness), "disaster": _yes(disaster)}
    outcome, case = await flag_store.record_checkin(ctx.session, as_int(flag) or 0, person_id=ctx.person.id,
                                                    answers=answers, now=ctx.now)
    return {"outcome": outcome, "number": case.number if case else ""}
