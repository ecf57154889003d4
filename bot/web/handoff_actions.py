"""What the inbox's forms do to a handoff: each calls the desk's service (bot/desk/service.py),
the same functions the messenger commands and the JSON API call — the claim's conditional
UPDATE, transfer, release, notes, saved answers, the close that asks the villager how it went,
the audit. This module only turns the service's refusals into something a page can show."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.authz import StaffScope
from bot.desk import service as desk
from bot.errors import BotError
from storage import routing
from storage.models import Handoff


class Refused(BotError):
    """The action is not allowed now: `key` names the message in texts["errors"]; "desk" means
    the desk service's own words (`zh`, `en`)."""

    def __init__(self, status: int, key: str, who: str = "", *, zh: str = "", en: str = ""):
        super().__init__(key)
        self.status, self.key, self.who, self.zh, self.en = status, key, who, zh, en

    def message(self, errors: dict, lang: str) -> str:
        if self.key == "desk":
            return (self.zh if lang == "zh" else self.en) or self.zh
        return errors[self.key].format(who=self.who)


def _refused(exc: desk.DeskError) -> Refused:
    return Refused(exc.status, "desk", zh=exc.zh, en=exc.en)


async def claim(s: AsyncSession, scope: StaffScope, h: Handoff, *, now: datetime) -> None:
    try:
        result = await desk.claim(s, scope, h.id, now=now)
    except desk.DeskError as exc:
        raise _refused(exc) from exc
    if not result.won:
        raise Refused(409, "taken", result.taken_by)


async def reply(s: AsyncSession, scope: StaffScope, h: Handoff, text: str, *, now: datetime) -> None:
    text = (text or "").strip()
    if not text:
        raise Refused(422, "empty")
    if h.status != "claimed" or h.claimed_by_staff_id != scope.staff_id:
        raise Refused(409, "cannot_reply")
    try:
        await desk.reply(s, scope, h.id, text[:4000], now=now)
    except desk.DeskError as exc:
        raise _refused(exc) from exc


async def reply_saved(s: AsyncSession, scope: StaffScope, h: Handoff, answer_id: int, *, now: datetime) -> None:
    """Send one of the caller's saved answers (their own or a shared one), filled in."""
    if h.status != "claimed" or h.claimed_by_staff_id != scope.staff_id:
        raise Refused(409, "cannot_reply")
    try:
        await desk.reply_saved(s, scope, h.id, "", answer_id=answer_id, now=now)
    except desk.DeskError as exc:
        raise (Refused(422, "no_answer") if exc.status == 404 else _refused(exc)) from exc


async def note(s: AsyncSession, scope: StaffScope, h: Handoff, text: str, *, now: datetime) -> None:
    if not (text or "").strip():
        raise Refused(422, "empty")
    try:
        await desk.note(s, scope, h.id, text, now=now)
    except desk.DeskError as exc:
        raise _refused(exc) from exc


async def transfer(s: AsyncSession, scope: StaffScope, h: Handoff, to_username: str) -> None:
    """To another worker covering the village, or back to the queue (empty `to_username`)."""
    try:
        await desk.transfer(s, scope, h.id, to_username or None)
    except desk.DeskError as exc:
        raise _refused(exc) from exc


async def release(s: AsyncSession, scope: StaffScope, h: Handoff, *, now: datetime,
                  rules: routing.DeskRules) -> None:
    """Back to the queue, offered again to the others on duty."""
    try:
        await desk.release(s, scope, h.id, now=now, rules=rules)
    except desk.DeskError as exc:
        raise _refused(exc) from exc


async def set_status(s: AsyncSession, scope: StaffScope, h: Handoff, status: str, *, now: datetime) -> None:
    """The status of the handoff's case (the villager is told, as for any case)."""
    try:
        await desk.set_status(s, scope, h.id, status, now=now)
    except desk.DeskError as exc:
        raise _refused(exc) from exc


async def close(s: AsyncSession, scope: StaffScope, h: Handoff, outcome: str, *, now: datetime) -> None:
    if h.status == "closed":
        raise Refused(409, "closed")
    try:
        await desk.close(s, scope, h.id, (outcome or "").strip()[:4000], now=now)
    except desk.DeskError as exc:
        raise _refused(exc) from exc
