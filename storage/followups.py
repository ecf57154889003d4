"""Case follow-ups: some days after a case is resolved or closed the villager is asked
"问题解决了吗？1 解决了 2 没解决" (bot/followups.py sends it; storage/cases.py writes the
timer at the close). Their answer is recorded here: solved → an event on the timeline; not
solved → the case reopens with an event and the area's workers are told. The caller owns the
transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage import cases as case_store
from storage.handoffs import staff_for_area
from storage.models import NeedRequest
from storage.notify import notify_staff


async def case_to_follow_up(session: AsyncSession, target: str, closed_at: str | None) -> NeedRequest | None:
    """The case of a follow-up timer, if it is still closed since the close that wrote it."""
    case = await session.get(NeedRequest, int(target.split(":", 1)[1]))
    if case is None or case.status not in case_store.CLOSED_STATUSES or case.closed_at is None:
        return None
    if closed_at and datetime.fromisoformat(closed_at) != case.closed_at:
        return None  # reopened and closed again since: that close has its own follow-up
    return case


async def record_answer(session: AsyncSession, number: str, *, person_id: int, solved: bool, now: datetime
                        ) -> tuple[str, NeedRequest | None]:
    """Returns (outcome, case): `thanks` (solved, noted), `reopened`, `already_open` (answered
    before, or a worker reopened it) or `not_found` (no such case of this person)."""
    case = await case_store.get_case(session, number)
    if case is None or case.person_id != person_id:
        return "not_found", None
    if case.status not in case_store.CLOSED_STATUSES:
        return "already_open", case
    if solved:
        await case_store.add_case_event(session, case, "followup", "村民确认问题已解决 / the villager says it is solved",
                                        data={"solved": True}, now=now)
        await audit.record(session, f"person:{person_id}", "case.followup", case.number, {"solved": True})
        return "thanks", case
    status = "assigned" if case.assigned_staff_id else "new"
    await case_store.set_case_status(session, case, status, note="回访：村民说问题没解决 / follow-up: not solved",
                                     now=now, notify=False)
    await case_store.add_case_event(session, case, "reopened", "回访：问题没解决，已重新打开 / reopened after the follow-up",
                                    data={"via": "followup", "solved": False}, now=now)
    await audit.record(session, f"person:{person_id}", "case.reopen", case.number, {"via": "followup"})
    text = (f"回访：求助 {case.number} 的村民说问题没解决，已重新打开，请跟进。\n"
            f"Follow-up: case {case.number} is not solved for the villager and was reopened.")
    told = set()
    for staff in await staff_for_area(session, case.village_id):
        await notify_staff(session, staff.id, text)
        told.add(staff.id)
    if case.assigned_staff_id and case.assigned_staff_id not in told:
        await notify_staff(session, case.assigned_staff_id, text)
    return "reopened", case
