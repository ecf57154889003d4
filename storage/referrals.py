"""Referrals of a case to an agency: sent → accepted → done, or declined. The villager is told
in plain words when one is made and when it is done (the outbox, storage/notify.py); the
agency's answers stay internal. The caller owns the transaction and the area rules."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage import cases as case_store
from storage.agencies import agency_name
from storage.cases import CaseError
from storage.models import Agency, NeedRequest, Person, Referral, utcnow
from storage.notify import notify_person

STATUSES = ("sent", "accepted", "done", "declined")
NEXT = {"sent": ("accepted", "declined", "done"), "accepted": ("done", "declined"), "done": (), "declined": ()}

NOTICES = {
    "zh": {"sent": "您的求助 {number}：社工已把您的情况转给{agency}，他们会联系您或帮您办理。回复“我的求助”可以查看。",
           "done": "您的求助 {number}：{agency}那边已经办好了。有问题可以直接回复这条消息。"},
    "en": {"sent": "Your case {number}: your social worker has passed it to {agency}; they will contact you or "
                   "handle it. Reply 'my cases' to see it.",
           "done": "Your case {number}: {agency} has finished its part. Reply here if anything is unclear."},
}


async def referrals_of(session: AsyncSession, case: NeedRequest) -> list[Referral]:
    q = select(Referral).where(Referral.case_id == case.id).order_by(Referral.id)
    return list((await session.execute(q)).scalars())


async def _tell(session: AsyncSession, case: NeedRequest, agency: Agency, what: str) -> None:
    person = await session.get(Person, case.person_id)
    lang = person.locale if person is not None and person.locale in NOTICES else "zh"
    await notify_person(session, case.person_id,
                        NOTICES[lang][what].format(number=case.number, agency=agency_name(agency, lang)))


async def refer(session: AsyncSession, case: NeedRequest, agency: Agency, reason: str, *, by_staff_id: int,
                now: datetime | None = None) -> Referral:
    if not agency.active:
        raise CaseError(f"机构“{agency.name}”已停用 / the agency '{agency.code}' is inactive")
    if case.stage == "closed":
        raise CaseError("个案已结案 / the case is closed")
    now = now or utcnow()
    referral = Referral(case_id=case.id, agency_id=agency.id, reason=reason.strip()[:2000], status="sent",
                        staff_id=by_staff_id, sent_at=now)
    session.add(referral)
    await session.flush()
    await case_store.add_case_event(session, case, "referral", agency.name, staff_id=by_staff_id,
                                    data={"referral": referral.id, "agency": agency.code, "to": "sent"}, now=now)
    await audit.record(session, f"staff:{by_staff_id}", "case.referral.add", case.number,
                       {"referral": referral.id, "agency": agency.code})
    await _tell(session, case, agency, "sent")
    return referral


async def set_referral_status(session: AsyncSession, case: NeedRequest, referral_id: int, status: str, *,
                              by_staff_id: int, note: str = "", now: datetime | None = None) -> Referral:
    referral = await session.get(Referral, referral_id)
    if referral is None or referral.case_id != case.id:
        raise CaseError("这个个案没有这条转介 / no such referral on this case")
    if status not in STATUSES:
        raise CaseError(f"未知状态 {status!r} / unknown status {status!r}; one of {', '.join(STATUSES)}")
    if status not in NEXT[referral.status]:
        raise CaseError(f"转介已是“{referral.status}”，不能改成“{status}” / "
                        f"a referral that is {referral.status} cannot become {status}")
    now = now or utcnow()
    old, referral.status = referral.status, status
    if note.strip():
        referral.note = (referral.note + "\n" if referral.note else "") + note.strip()[:2000]
    if status == "accepted":
        referral.accepted_at = now
    if status in ("done", "declined"):
        referral.closed_at = now
    agency = await session.get(Agency, referral.agency_id)
    await case_store.add_case_event(session, case, "referral", agency.name if agency else "", staff_id=by_staff_id,
                                    public=status == "done", data={"referral": referral.id, "from": old, "to": status},
                                    now=now)
    await audit.record(session, f"staff:{by_staff_id}", "case.referral.change", case.number,
                       {"referral": referral.id, "to": status})
    if status == "done" and agency is not None:
        await _tell(session, case, agency, "done")
    return referral


WAITING = ("sent", "accepted")  # the agency has not finished: the worker follows up


async def waiting_for(session: AsyncSession, staff_id: int, *, visible=None) -> list[tuple[Referral, NeedRequest, Agency]]:
    """Referrals not finished yet that a worker follows: ones they made, or on cases assigned
    to them; oldest first. `visible` limits the cases to what the caller may see."""
    q = (select(Referral, NeedRequest, Agency).join(NeedRequest, NeedRequest.id == Referral.case_id)
         .join(Agency, Agency.id == Referral.agency_id)
         .where(Referral.status.in_(WAITING), visible if visible is not None else true(),
                or_(Referral.staff_id == staff_id, NeedRequest.assigned_staff_id == staff_id))
         .order_by(Referral.sent_at, Referral.id))
    return [(r, c, a) for r, c, a in (await session.execute(q)).all()]


async def waiting_counts(session: AsyncSession) -> dict[int, int]:
    """Per staff id: referrals not finished yet that they made."""
    rows = await session.execute(select(Referral.staff_id, func.count()).where(
        Referral.status.in_(WAITING), Referral.staff_id.is_not(None)).group_by(Referral.staff_id))
    return {staff_id: n for staff_id, n in rows.all()}
