"""A social worker links their own Telegram/WeChat account with a one-time invite code
(`xiangzhu workers invite NAME` prints it; the worker sends `/start w-CODE`)."""
from __future__ import annotations

from flows.registry import ActionContext, action
from storage.staff import StaffError
from storage.staff_invites import redeem_invite


@action("link_worker", args={"code": "text"})
async def link_worker(ctx: ActionContext, code: str) -> dict:
    """Redeem a worker invite for the messenger account this message came from.
    Result: `ok`, `name` (the staff member) or `problem` (in the person's language).

        - action: link_worker
          args: {code: "{{code}}"}
        - say: {zh: "已绑定：{{result.name}}", en: "Linked: {{result.name}}"}
          if: result.ok
    """
    turn = ctx.turn
    try:
        async with ctx.session.begin_nested():  # a refused code leaves nothing half-done
            staff = await redeem_invite(ctx.session, code, turn.channel, turn.sender, now=ctx.now)
    except StaffError as exc:
        zh, _, en = str(exc).partition(" / ")
        return {"ok": False, "name": "", "problem": en if ctx.locale == "en" and en else zh}
    return {"ok": True, "name": staff.display_name or staff.username, "problem": ""}
