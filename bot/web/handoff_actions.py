"""What the inbox's forms do to a handoff — the rules of POST /api/handoffs/… (bot/api/handoffs.py)
on the same storage services (storage/handoffs.py, storage/desk_notes.py), which audit each
claim, transfer, note and close. One function per action, so the pages stay thin and can call
the desk's service instead once it exists."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.authz import StaffScope
from bot.errors import BotError
from storage import audit, desk_notes
from storage import handoffs as handoff_service
from storage import staff as staff_service
from storage.models import Area, Handoff, Person, Staff


class Refused(BotError):
    """The action is not allowed now: `key` names the message in texts["errors"]."""

    def __init__(self, status: int, key: str, who: str = ""):
        super().__init__(key)
        self.status, self.key, self.who = status, key, who


def _may_manage(scope: StaffScope, h: Handoff) -> bool:
    return h.claimed_by_staff_id == scope.staff_id or scope.role in ("admin", "supervisor")


async def claim(s: AsyncSession, scope: StaffScope, h: Handoff, *, now: datetime) -> None:
    if not scope.can_write:
        raise Refused(403, "manage")
    if not await handoff_service.claim_handoff(s, h.id, scope.staff_id, now=now):
        await s.refresh(h)
        who = await s.get(Staff, h.claimed_by_staff_id) if h.claimed_by_staff_id else None
        raise Refused(409, "taken", (who.display_name or who.username) if who else "")


async def reply(s: AsyncSession, scope: StaffScope, h: Handoff, text: str, *, now: datetime) -> None:
    text = (text or "").strip()
    if not text:
        raise Refused(422, "empty")
    try:
        await handoff_service.relay_to_villager(s, h, scope.staff_id, text[:4000], now=now)
    except handoff_service.HandoffError as exc:
        raise Refused(409, "cannot_reply") from exc
    await audit.record(s, scope.actor, "handoff.message", f"handoff:{h.id}")


async def reply_saved(s: AsyncSession, scope: StaffScope, h: Handoff, answer_id: int, *, now: datetime,
                      case: str = "") -> None:
    """Send one of the caller's saved answers (their own or a shared one), filled in."""
    answer = next((a for a in await desk_notes.answers_for(s, scope.staff_id) if a.id == answer_id), None)
    if answer is None:
        raise Refused(422, "no_answer")
    person = await s.get(Person, h.person_id)
    village = await s.get(Area, h.village_id) if h.village_id else None
    text = desk_notes.fill(answer.text, name=(person.display_name if person else "") or "",
                           village=village.name if village else "", case=case)
    await reply(s, scope, h, text, now=now)


async def note(s: AsyncSession, scope: StaffScope, h: Handoff, text: str, *, now: datetime) -> None:
    if not scope.can_write:
        raise Refused(403, "manage")
    try:
        await desk_notes.add_note(s, h.id, scope.staff_id, text, now=now)
    except desk_notes.DeskNoteError as exc:
        raise Refused(422, "empty") from exc


async def transfer(s: AsyncSession, scope: StaffScope, h: Handoff, to_username: str) -> None:
    """To another worker covering the village, or back to the queue (empty `to_username`)."""
    if not scope.can_write or (not _may_manage(scope, h) and h.status == "claimed"):
        raise Refused(403, "manage")
    to_id = None
    if to_username:
        target = await staff_service.find_staff(s, to_username)
        if target is None or not target.active:
            raise Refused(422, "no_staff", to_username)
        tscope = await authz.scope_for(s, target)
        if not (tscope.can_write and authz.covers_area(tscope, h.village_id)) and not authz.can_change_handoff(tscope, h):
            raise Refused(422, "not_covering", to_username)
        to_id = target.id
    try:
        await handoff_service.transfer_handoff(s, h, to_id, by_staff_id=scope.staff_id)
    except handoff_service.HandoffError as exc:
        raise Refused(409, "closed") from exc


async def close(s: AsyncSession, scope: StaffScope, h: Handoff, outcome: str, *, now: datetime) -> None:
    if not scope.can_write or (not _may_manage(scope, h) and h.status == "claimed"):
        raise Refused(403, "manage")
    if h.status == "closed":
        raise Refused(409, "closed")
    await handoff_service.close_handoff(s, h, outcome=(outcome or "").strip()[:4000], by_staff_id=scope.staff_id,
                                        now=now)
