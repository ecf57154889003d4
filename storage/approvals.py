"""Approvals of casework (a township's setting, off by default): where the case's township has
`approvals_required`, closing a case or making a referral waits as a pending approval until
the township's supervisor (or an admin) approves it — then the action is done as it would have
been (the villager told as usual) — or declines it, and the worker who asked is told.

The caller owns the transaction and the area rules (bot/authz.py); every request and decision
is audited and noted on the case's timeline. The supervisors are paged on their messenger with
"/approve K" and "/decline K" (bot/desk/commands.py).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, casework
from storage import cases as case_store
from storage import referrals as referral_store
from storage.cases import CaseError
from storage.handoffs import staff_for_area
from storage.models import Agency, Area, CaseApproval, NeedRequest, Staff, utcnow
from storage.notify import notify_staff
from vocab.messages import Button

ACTIONS = ("close", "refer")
APPROVERS = ("admin", "supervisor")


async def township_of(session: AsyncSession, area_id: int | None) -> Area | None:
    """The township an area is in (the area itself when it is one)."""
    area = await session.get(Area, area_id) if area_id else None
    while area is not None and area.level not in ("township", "county"):
        area = await session.get(Area, area.parent_id) if area.parent_id else None
    return area if area is not None and area.level == "township" else None


async def required(session: AsyncSession, case: NeedRequest) -> bool:
    township = await township_of(session, case.village_id)
    return bool(township is not None and township.approvals_required)


async def set_required(session: AsyncSession, area: Area, on: bool, *, actor: str) -> None:
    """Turn the setting on or off for a township (admins)."""
    if area.level != "township":
        raise CaseError("只有乡镇可以设置审批 / only a township has the approval setting")
    area.approvals_required = on
    await audit.record(session, actor, "area.approvals", area.code, {"on": on})


def describe(approval: CaseApproval, case: NeedRequest, agency: Agency | None = None) -> str:
    """The request in a few words (Chinese, the desk's language)."""
    if approval.action == "close":
        return f"个案 {case.number} 结案：{str(approval.data.get('outcome', ''))[:80]}"
    name = agency.name if agency is not None else str(approval.data.get("agency", ""))
    reason = str(approval.data.get("reason", ""))[:60]
    return f"个案 {case.number} 转介给{name}" + (f"：{reason}" if reason else "")


async def _approvers(session: AsyncSession, case: NeedRequest) -> list[Staff]:
    found = [s for s in await staff_for_area(session, case.village_id) if "supervisor" in (s.roles or [])]
    if found:
        return found
    admins = (await session.execute(select(Staff).where(Staff.active.is_(True)))).scalars()
    return [s for s in admins if "admin" in (s.roles or [])]


async def request(session: AsyncSession, case: NeedRequest, action: str, data: dict, *, by_staff_id: int,
                  now: datetime | None = None) -> CaseApproval:
    """Hold `action` on the case until a supervisor decides; the township's supervisors are paged."""
    if action not in ACTIONS:
        raise CaseError(f"未知操作 {action!r} / unknown action {action!r}")
    now = now or utcnow()
    approval = CaseApproval(case_id=case.id, action=action, data=data, status="pending",
                            requested_by_staff_id=by_staff_id, created_at=now)
    session.add(approval)
    await session.flush()
    agency = await session.get(Agency, data["agency_id"]) if action == "refer" else None
    what = describe(approval, case, agency)
    await case_store.add_case_event(session, case, "approval", what, staff_id=by_staff_id, public=False,
                                    data={"approval": approval.id, "action": action, "to": "pending"}, now=now)
    await audit.record(session, f"staff:{by_staff_id}", "case.approval.request", case.number,
                       {"approval": approval.id, "action": action})
    text = (f"待审批 {approval.id}：{what}\n回复“/approve {approval.id}”同意，“/decline {approval.id}”不同意。")
    buttons = (Button("同意", f"/approve {approval.id}"), Button("不同意", f"/decline {approval.id}"))
    for staff in await _approvers(session, case):
        if staff.id != by_staff_id:
            await notify_staff(session, staff.id, text, buttons=buttons, kind="page")
    return approval


async def close_or_request(session: AsyncSession, case: NeedRequest, *, staff_id: int, approver: bool,
                           outcome: str | None, note: str = "", now: datetime | None = None) -> CaseApproval | None:
    """Close the case, or (the township requires approval and the caller is no approver) ask for
    it. Returns the pending approval, or None when the case was closed."""
    if approver or not await required(session, case):
        await casework.set_stage(session, case, "closed", staff_id=staff_id, outcome=outcome, note=note, now=now)
        return None
    if case.stage == "closed":
        return None
    if not (outcome or case.outcome or "").strip():
        raise CaseError("结案要写结果 / closing a case needs an outcome")
    return await request(session, case, "close", {"outcome": outcome or case.outcome, "note": note},
                         by_staff_id=staff_id, now=now)


async def check_status_change(session: AsyncSession, case: NeedRequest, status: str, *, approver: bool) -> None:
    """A closing status set by hand would skip the approval: where the township requires one,
    a worker is sent to the close with an outcome, which waits for the supervisor."""
    if (status in case_store.CLOSED_STATUSES and case.status not in case_store.CLOSED_STATUSES and not approver
            and await required(session, case)):
        raise CaseError("这个乡镇结案要审批：请写结果后结案，督导同意后才结 / this township requires approval to "
                        "close: close the case with its outcome, and it closes once the supervisor approves")


async def refer_or_request(session: AsyncSession, case: NeedRequest, agency: Agency, reason: str, *, staff_id: int,
                           approver: bool, now: datetime | None = None):
    """Refer the case, or ask for approval first. Returns the Referral or the pending CaseApproval."""
    if approver or not await required(session, case):
        return await referral_store.refer(session, case, agency, reason, by_staff_id=staff_id, now=now)
    if not agency.active:
        raise CaseError(f"机构“{agency.name}”已停用 / the agency '{agency.code}' is inactive")
    if case.stage == "closed":
        raise CaseError("个案已结案 / the case is closed")
    return await request(session, case, "refer", {"agency_id": agency.id, "agency": agency.code,
                                                  "reason": reason.strip()[:2000]}, by_staff_id=staff_id, now=now)


async def pending_of(session: AsyncSession, case: NeedRequest) -> list[CaseApproval]:
    q = select(CaseApproval).where(CaseApproval.case_id == case.id).order_by(CaseApproval.id)
    return list((await session.execute(q)).scalars())


async def pending(session: AsyncSession, *, visible: ColumnElement[bool]) -> list[tuple[CaseApproval, NeedRequest]]:
    """Pending approvals on the cases `visible` lets through, oldest first."""
    q = (select(CaseApproval, NeedRequest).join(NeedRequest, NeedRequest.id == CaseApproval.case_id)
         .where(CaseApproval.status == "pending", visible).order_by(CaseApproval.created_at, CaseApproval.id))
    return [(a, c) for a, c in (await session.execute(q)).all()]


DECIDED_TEXT = {True: "已同意：{what}。已办理。", False: "没有同意：{what}。请和镇上主管商量。"}


async def decide(session: AsyncSession, approval: CaseApproval, case: NeedRequest, approve: bool, *,
                 by_staff_id: int, note: str = "", now: datetime | None = None) -> CaseApproval:
    """Approve (the action is done now) or decline (the worker who asked is told)."""
    if approval.case_id != case.id:
        raise CaseError("这个个案没有这条审批 / no such approval on this case")
    if approval.status != "pending":
        raise CaseError(f"这条审批已处理 / the approval is already {approval.status}")
    now = now or utcnow()
    agency = await session.get(Agency, approval.data.get("agency_id")) if approval.action == "refer" else None
    if approve:
        if approval.action == "close":
            await casework.set_stage(session, case, "closed", staff_id=approval.requested_by_staff_id,
                                     outcome=str(approval.data.get("outcome", "")),
                                     note=str(approval.data.get("note", "")), now=now)
        else:
            if agency is None:
                raise CaseError("机构已不存在 / the agency is gone")
            await referral_store.refer(session, case, agency, str(approval.data.get("reason", "")),
                                       by_staff_id=approval.requested_by_staff_id or by_staff_id, now=now)
    approval.status = "approved" if approve else "declined"
    approval.decided_by_staff_id, approval.decided_at = by_staff_id, now
    what = describe(approval, case, agency)
    await case_store.add_case_event(session, case, "approval", what + (f"（{note.strip()[:500]}）" if note.strip() else ""),
                                    staff_id=by_staff_id, public=False,
                                    data={"approval": approval.id, "action": approval.action, "to": approval.status},
                                    now=now)
    await audit.record(session, f"staff:{by_staff_id}", "case.approval.decide", case.number,
                       {"approval": approval.id, "to": approval.status})
    if approval.requested_by_staff_id and approval.requested_by_staff_id != by_staff_id:
        await notify_staff(session, approval.requested_by_staff_id, DECIDED_TEXT[approve].format(what=what),
                           kind="page")
    return approval
