"""Offboarding a staff member: their work moves to a colleague, their access ends. The caller
owns the transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage import cases as case_service
from storage import handoffs as handoff_service
from storage.models import ApiToken, ChannelIdentity, Handoff, NeedRequest, Staff, StaffSession, WorkerInvite, utcnow
from storage.staff import StaffError, get_staff

__all__ = ["Offboarded", "deactivate"]


@dataclass(frozen=True)
class Offboarded:
    handoffs: int
    cases: int
    tokens: int


async def deactivate(session: AsyncSession, username: str, reassign_to: str | None, *,
                     now: datetime | None = None, actor: str = "system") -> Offboarded:
    """Offboard a staff member: their claimed handoffs and open cases move to `reassign_to`,
    their tokens are revoked, their web sessions end and their messenger link is removed."""
    now = now or utcnow()
    leaving = await get_staff(session, username)
    target = None
    if reassign_to:
        target = await get_staff(session, reassign_to)
        if target.id == leaving.id:
            raise StaffError("不能把工作转给自己 / cannot reassign work to the same account")
        if not target.active:
            raise StaffError(f"账号“{reassign_to}”已停用 / staff account '{reassign_to}' is deactivated")
    open_handoffs = list((await session.execute(select(Handoff).where(
        Handoff.claimed_by_staff_id == leaving.id, Handoff.status != "closed").order_by(Handoff.id))).scalars())
    open_cases = list((await session.execute(select(NeedRequest).where(
        NeedRequest.assigned_staff_id == leaving.id,
        NeedRequest.status.in_(case_service.OPEN_STATUSES)).order_by(NeedRequest.id))).scalars())
    if (open_handoffs or open_cases) and target is None:
        raise StaffError(
            f"“{username}”还有 {len(open_handoffs)} 个对话和 {len(open_cases)} 个个案，请用 --reassign-to 指定接手的人"
            f" / '{username}' still has {len(open_handoffs)} handoff(s) and {len(open_cases)} case(s); "
            "name who takes them over with --reassign-to"
        )
    for h in open_handoffs:
        await _move_handoff(session, h, leaving, target, now=now)
    for c in open_cases:
        await _move_case(session, c, leaving, target, now=now)
    tokens = (await session.execute(update(ApiToken).where(
        ApiToken.staff_id == leaving.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))).rowcount
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == leaving.id))
    await session.execute(update(ChannelIdentity).where(ChannelIdentity.staff_id == leaving.id).values(staff_id=None))
    await session.execute(update(WorkerInvite).where(
        WorkerInvite.staff_id == leaving.id, WorkerInvite.used_at.is_(None)).values(expires_at=now))
    leaving.active = False
    await audit.record(session, actor, "staff.deactivate", f"staff:{leaving.id}", {
        "reassign_to": reassign_to, "handoffs": [h.id for h in open_handoffs],
        "cases": [c.number for c in open_cases], "tokens": tokens})
    return Offboarded(len(open_handoffs), len(open_cases), tokens)


async def _move_handoff(session: AsyncSession, handoff: Handoff, leaving: Staff, target: Staff, *, now) -> None:
    await handoff_service.transfer_handoff(session, handoff, target.id, by_staff_id=None)


async def _move_case(session: AsyncSession, case: NeedRequest, leaving: Staff, target: Staff, *, now) -> None:
    await case_service.assign_case(session, case, target.id, by_staff_id=None, now=now)
