"""Reminders on/off (退订 / 订阅) and erasing one's data (删除我的信息)."""
from __future__ import annotations

from flows.registry import ActionContext, action
from storage import audit, people
from storage.erasure import erase_person


@action("set_opt_out", args={"opted_out": "bool"})
async def set_opt_out(ctx: ActionContext, opted_out: bool) -> dict:
    """Stop (true) or restart (false) reminders and broadcasts. Answers about the person's
    own cases still reach them.

        - action: set_opt_out
          args: {opted_out: true}
    """
    await people.set_opted_out(ctx.session, ctx.person.id, bool(opted_out))
    ctx.person.opted_out = bool(opted_out)
    await audit.record(ctx.session, f"person:{ctx.person.id}", "person.opt_out" if opted_out else "person.opt_in")
    return {"opted_out": bool(opted_out)}


@action("erase_me")
async def erase_me(ctx: ActionContext) -> dict:
    """Erase the person's name, phone, descriptions, messages and attachments (statistics
    stay: category, village, dates, status). Ask for confirmation first.

        - ask: {slot: sure, question: {zh: 确定删除吗？, en: Delete everything?}}
        - action: erase_me
          if: sure == true
    """
    media_dir = getattr(getattr(ctx.services, "settings", None), "media_dir", None)
    report = await erase_person(ctx.session, ctx.person.id, ctx.now, media_dir=media_dir)
    for key in [k for k in ctx.slots if k != "sure"]:
        ctx.slots.pop(key, None)
    return {"erased": True, **report.counts()}
