"""Study groups, activities and trainings: list, enroll with capacity and waitlist, cancel,
offer a freed seat to the waitlist, move or cancel an activity (the reminder and notice
timers are written here; bot/reminders.py and bot/waitlist.py send them).

Enrollment changes lock the activity row (PostgreSQL `FOR UPDATE`; on SQLite every
transaction is BEGIN IMMEDIATE), so two people never take the last seat together.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage import audit, timers
from storage.models import Activity, Enrollment, Timer, utcnow

ACTIVE = ("confirmed", "waitlisted", "offered")
HOLDS_SEAT = ("confirmed", "offered")  # an offered seat is kept until the offer is answered or lapses
# reminder name -> how long before the start it goes out
REMINDERS = {"day_before": timedelta(days=1), "two_hours": timedelta(hours=2)}
REMINDER = "activity_reminder"
NOTICE = "activity_notice"  # "your activity moved / was cancelled", sent by bot/reminders.py
OFFER = "waitlist_offer"  # send the offer of a freed seat (bot/waitlist.py)
OFFER_EXPIRY = "waitlist_offer_expiry"  # the offer's deadline: no answer → the next person


class EnrollmentError(StorageError, ValueError):
    """Signing up is not possible; `code` says why (closed, started, not_found)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class EnrollResult:
    enrollment: Enrollment
    created: bool  # False when the person was already signed up


# the reads of the villagers' activity flows, built once (SQLAlchemy memoizes their cache keys)
_UPCOMING = (select(Activity).where(Activity.status == "open", Activity.starts_at >= bindparam("now"))
             .order_by(Activity.starts_at).limit(200))
_ACTIVITY = select(Activity).where(Activity.id == bindparam("activity_id"))
_ACTIVITY_LOCKED = _ACTIVITY.with_for_update()
_SEATS_TAKEN = select(func.count()).select_from(Enrollment).where(
    Enrollment.activity_id == bindparam("activity_id"), Enrollment.status.in_(HOLDS_SEAT))
_PERSON_ENROLLMENTS = select(Enrollment, Activity).join(Activity, Activity.id == Enrollment.activity_id).where(
    Enrollment.person_id == bindparam("person_id"))
_ENROLLMENTS_FOR_PERSON = {  # active_only → the statement
    False: _PERSON_ENROLLMENTS.order_by(Activity.starts_at),
    True: _PERSON_ENROLLMENTS.where(Enrollment.status.in_(ACTIVE)).order_by(Activity.starts_at),
}


async def list_upcoming(session: AsyncSession, now: datetime, *, audience: str | None = None,
                        limit: int = 20) -> list[Activity]:
    rows = list((await session.execute(_UPCOMING, {"now": now})).scalars())
    if audience:
        rows = [a for a in rows if audience in (a.audience or []) or "all" in (a.audience or [])]
    return rows[:limit]


async def get_activity(session: AsyncSession, activity_id: int, *, lock: bool = False) -> Activity | None:
    q = _ACTIVITY_LOCKED if lock else _ACTIVITY
    return (await session.execute(q, {"activity_id": activity_id})).scalar_one_or_none()


async def seats_taken(session: AsyncSession, activity_id: int) -> int:
    return (await session.execute(_SEATS_TAKEN, {"activity_id": activity_id})).scalar_one()


async def _active_enrollment(session, activity_id, person_id, participant_name) -> Enrollment | None:
    return (await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity_id, Enrollment.person_id == person_id,
                                 Enrollment.participant_name == participant_name,
                                 Enrollment.status.in_(ACTIVE))
    )).scalars().first()


async def enroll(session: AsyncSession, activity_id: int, person_id: int, *, participant_name: str = "",
                 now: datetime | None = None) -> EnrollResult:
    """Confirm a seat, or put the person on the waitlist when the activity is full.
    Signing up twice returns the existing enrollment."""
    now = now or utcnow()
    activity = await get_activity(session, activity_id, lock=True)
    if activity is None:
        raise EnrollmentError("not_found", f"activity {activity_id} not found")
    if activity.status != "open":
        raise EnrollmentError("closed", "activity is closed")
    if activity.starts_at <= now:
        raise EnrollmentError("started", "activity has already started")
    existing = await _active_enrollment(session, activity_id, person_id, participant_name)
    if existing is not None:
        return EnrollResult(existing, False)
    if activity.capacity is None or await seats_taken(session, activity_id) < activity.capacity:
        enrollment = Enrollment(activity_id=activity_id, person_id=person_id, participant_name=participant_name,
                                status="confirmed", created_at=now, updated_at=now)
    else:
        last = (await session.execute(
            select(func.max(Enrollment.waitlist_position))
            .where(Enrollment.activity_id == activity_id, Enrollment.status == "waitlisted")
        )).scalar_one()
        enrollment = Enrollment(activity_id=activity_id, person_id=person_id, participant_name=participant_name,
                                status="waitlisted", waitlist_position=(last or 0) + 1, created_at=now,
                                updated_at=now)
    session.add(enrollment)
    await session.flush()
    if enrollment.status == "confirmed":
        await schedule_reminders(session, activity, enrollment, now)
    await audit.record(session, f"person:{person_id}", "enrollment." + enrollment.status, f"activity:{activity_id}")
    return EnrollResult(enrollment, True)


async def schedule_reminders(session: AsyncSession, activity: Activity, enrollment: Enrollment,
                             now: datetime) -> int:
    """The day-before and two-hours-before reminders of a confirmed seat; one whose time has
    already passed is skipped. The key carries the start time, so after a move the new
    reminders are new rows. Returns how many were scheduled."""
    n = 0
    stamp = int(activity.starts_at.timestamp())
    for name, before in REMINDERS.items():
        due = activity.starts_at - before
        if due <= now:
            continue
        await timers.schedule(session, REMINDER, due, target=f"enrollment:{enrollment.id}",
                              payload={"activity_id": activity.id, "which": name,
                                       "starts_at": activity.starts_at.isoformat()},
                              dedupe_key=f"{REMINDER}:{enrollment.id}:{name}:{stamp}")
        n += 1
    return n


async def cancel_reminders(session: AsyncSession, enrollment_id: int) -> int:
    return await timers.cancel(session, kind=REMINDER, target=f"enrollment:{enrollment_id}")


async def cancel_enrollment(session: AsyncSession, enrollment_id: int, *, person_id: int | None = None,
                            now: datetime | None = None) -> Enrollment | None:
    """Cancel; a freed seat goes to the first on the waitlist, who is told.
    `person_id` restricts the cancel to that person's own sign-ups."""
    now = now or utcnow()
    enrollment = await session.get(Enrollment, enrollment_id)
    if enrollment is None or (person_id is not None and enrollment.person_id != person_id):
        return None
    activity = await get_activity(session, enrollment.activity_id, lock=True)
    await session.refresh(enrollment)
    if enrollment.status not in ACTIVE:
        return enrollment
    was = enrollment.status
    enrollment.status, enrollment.waitlist_position, enrollment.updated_at = "cancelled", None, now
    await cancel_reminders(session, enrollment.id)
    await timers.cancel(session, kind=OFFER_EXPIRY, target=f"enrollment:{enrollment.id}")
    await audit.record(session, f"person:{enrollment.person_id}", "enrollment.cancel", f"activity:{activity.id}")
    if was in HOLDS_SEAT:
        await offer_next(session, activity, now)
    await _renumber_waitlist(session, activity.id)
    await session.flush()
    return enrollment


async def offer_next(session: AsyncSession, activity: Activity, now: datetime) -> Enrollment | None:
    """A seat is free: offer it to the first on the waitlist. The seat is held for them
    (`offered`); bot/waitlist.py sends the offer (1 要 / 2 不要了) and sets its deadline.
    Returns the offered enrollment, or None (no free seat, nobody waiting, activity not open)."""
    if activity.status != "open" or activity.starts_at <= now:
        return None
    if activity.capacity is not None and await seats_taken(session, activity.id) >= activity.capacity:
        return None
    first = (await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity.id, Enrollment.status == "waitlisted")
        .order_by(Enrollment.waitlist_position, Enrollment.id).limit(1)
    )).scalars().first()
    if first is None:
        return None
    first.status, first.waitlist_position, first.updated_at = "offered", None, now
    await session.flush()
    await timers.schedule(session, OFFER, now, target=f"enrollment:{first.id}", payload={"activity_id": activity.id})
    await audit.record(session, "system", "enrollment.offer", f"activity:{activity.id}", {"enrollment": first.id})
    await _renumber_waitlist(session, activity.id)
    return first


async def set_offer_deadline(session: AsyncSession, enrollment: Enrollment, deadline: datetime) -> None:
    """Called when the offer went out: no answer by `deadline` → it lapses (OFFER_EXPIRY)."""
    await timers.schedule(session, OFFER_EXPIRY, deadline, target=f"enrollment:{enrollment.id}",
                          payload={"activity_id": enrollment.activity_id},
                          dedupe_key=f"{OFFER_EXPIRY}:{enrollment.id}")


async def offer_deadline(session: AsyncSession, enrollment_id: int) -> datetime | None:
    return (await session.execute(
        select(Timer.due_at).where(Timer.kind == OFFER_EXPIRY,
                                          Timer.target == f"enrollment:{enrollment_id}",
                                          Timer.state == timers.PENDING)
    )).scalars().first()


async def answer_offer(session: AsyncSession, enrollment_id: int, *, person_id: int, accept: bool,
                       now: datetime | None = None) -> tuple[str, Activity | None]:
    """The person's answer to a seat offer. Returns (outcome, activity): `confirmed`,
    `declined` (the seat goes to the next person), `lapsed` (the offer is no longer open:
    expired, cancelled, or already answered) or `not_found`."""
    now = now or utcnow()
    enrollment = await session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.person_id != person_id:
        return "not_found", None
    activity = await get_activity(session, enrollment.activity_id, lock=True)
    await session.refresh(enrollment)
    if enrollment.status != "offered" or activity.status != "open" or activity.starts_at <= now:
        return ("confirmed" if enrollment.status == "confirmed" and accept else "lapsed"), activity
    await timers.cancel(session, kind=OFFER_EXPIRY, target=f"enrollment:{enrollment.id}")
    await timers.cancel(session, kind=OFFER, target=f"enrollment:{enrollment.id}")
    if accept:
        enrollment.status, enrollment.updated_at = "confirmed", now
        await schedule_reminders(session, activity, enrollment, now)
        await audit.record(session, f"person:{person_id}", "enrollment.offer_accepted", f"activity:{activity.id}")
        return "confirmed", activity
    enrollment.status, enrollment.updated_at = "declined", now
    await audit.record(session, f"person:{person_id}", "enrollment.offer_declined", f"activity:{activity.id}")
    await session.flush()
    await offer_next(session, activity, now)
    return "declined", activity


async def lapse_offer(session: AsyncSession, enrollment_id: int, now: datetime, reason: str = "expired"
                      ) -> Enrollment | None:
    """The offer's deadline passed (or it could not be delivered): `offer_expired`, and the
    seat is offered to the next person. Returns the next offered enrollment, if any."""
    enrollment = await session.get(Enrollment, enrollment_id)
    if enrollment is None:
        return None
    activity = await get_activity(session, enrollment.activity_id, lock=True)
    await session.refresh(enrollment)
    if enrollment.status != "offered":
        return None
    enrollment.status, enrollment.updated_at = "offer_expired", now
    await timers.cancel(session, kind=OFFER_EXPIRY, target=f"enrollment:{enrollment.id}")
    await audit.record(session, "system", "enrollment.offer_" + reason, f"activity:{activity.id}",
                       {"enrollment": enrollment.id})
    await session.flush()
    return await offer_next(session, activity, now)


async def _renumber_waitlist(session: AsyncSession, activity_id: int) -> None:
    waiting = (await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity_id, Enrollment.status == "waitlisted")
        .order_by(Enrollment.waitlist_position, Enrollment.id)
    )).scalars()
    for position, e in enumerate(waiting, start=1):
        e.waitlist_position = position


async def _schedule_notice(session: AsyncSession, enrollment: Enrollment, change: str, now: datetime,
                           data: dict) -> None:
    await timers.schedule(session, NOTICE, now, target=f"enrollment:{enrollment.id}",
                          payload={"activity_id": enrollment.activity_id, "change": change, **data})


async def move_activity(session: AsyncSession, activity_id: int, *, starts_at: datetime | None = None,
                        place: str | None = None, actor: str = "system", now: datetime | None = None
                        ) -> tuple[Activity, int]:
    """Move an activity to a new time and/or place. Confirmed seats get their reminders
    rescheduled; everyone signed up (or waiting) is told. Returns (activity, people told)."""
    now = now or utcnow()
    activity = await get_activity(session, activity_id, lock=True)
    if activity is None:
        raise EnrollmentError("not_found", f"activity {activity_id} not found")
    if activity.status != "open":
        raise EnrollmentError("closed", f"activity {activity_id} is {activity.status}; only open activities move")
    changed: dict = {}
    if starts_at is not None:
        if starts_at.tzinfo is None:
            raise EnrollmentError("bad_time", "starts_at needs a time zone (e.g. +08:00)")
        if starts_at <= now:
            raise EnrollmentError("past", "the new start time is in the past")
        if starts_at != activity.starts_at:
            changed["from_starts_at"] = activity.starts_at.isoformat()
            if activity.ends_at is not None:
                activity.ends_at = activity.ends_at + (starts_at - activity.starts_at)
            activity.starts_at = starts_at
    if place is not None and place.strip() and place.strip() != activity.place:
        changed["from_place"] = activity.place
        activity.place = place.strip()
    if not changed:
        return activity, 0
    told = 0
    for e in await _active_enrollments(session, activity.id):
        if e.status == "confirmed" and "from_starts_at" in changed:
            await cancel_reminders(session, e.id)
            await schedule_reminders(session, activity, e, now)
        await _schedule_notice(session, e, "moved", now, changed)
        told += 1
    await audit.record(session, actor, "activity.move", f"activity:{activity.id}",
                       {**changed, "starts_at": activity.starts_at.isoformat(), "place": activity.place})
    await session.flush()
    return activity, told


async def cancel_activity(session: AsyncSession, activity_id: int, *, actor: str = "system",
                          now: datetime | None = None) -> tuple[Activity, int]:
    """Cancel an activity: every active sign-up ends (`called_off`), its reminders are
    cancelled and the person is told. Cancelling twice changes nothing. Returns (activity, told)."""
    now = now or utcnow()
    activity = await get_activity(session, activity_id, lock=True)
    if activity is None:
        raise EnrollmentError("not_found", f"activity {activity_id} not found")
    if activity.status == "cancelled":
        return activity, 0
    activity.status = "cancelled"
    told = 0
    for e in await _active_enrollments(session, activity.id):
        await cancel_reminders(session, e.id)
        await timers.cancel(session, kind=OFFER_EXPIRY, target=f"enrollment:{e.id}")
        e.status, e.waitlist_position, e.updated_at = "called_off", None, now
        await _schedule_notice(session, e, "cancelled", now, {})
        told += 1
    await audit.record(session, actor, "activity.cancel", f"activity:{activity.id}", {"told": told})
    await session.flush()
    return activity, told


async def _active_enrollments(session: AsyncSession, activity_id: int) -> list[Enrollment]:
    return list((await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity_id, Enrollment.status.in_(ACTIVE))
        .order_by(Enrollment.id)
    )).scalars())


async def enrollments_for_person(session: AsyncSession, person_id: int, *, active_only: bool = True
                                 ) -> list[tuple[Enrollment, Activity]]:
    rows = await session.execute(_ENROLLMENTS_FOR_PERSON[active_only], {"person_id": person_id})
    return [(e, a) for e, a in rows.all()]


async def roster(session: AsyncSession, activity_id: int) -> list[Enrollment]:
    return list((await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity_id)
        .order_by(Enrollment.status, Enrollment.waitlist_position, Enrollment.id)
    )).scalars())


async def mark_attended(session: AsyncSession, enrollment_id: int) -> None:
    enrollment = await session.get(Enrollment, enrollment_id)
    if enrollment is not None and enrollment.status == "confirmed":
        enrollment.status = "attended"


async def status_counts(session: AsyncSession, activity_id: int) -> dict[str, int]:
    rows = await session.execute(select(Enrollment.status, func.count()).where(Enrollment.activity_id == activity_id)
                                 .group_by(Enrollment.status))
    return {st: n for st, n in rows.all()}


async def list_with_counts(session: AsyncSession, *, status: str | None = None, limit: int = 500
                           ) -> list[tuple[Activity, dict[str, int]]]:
    """Activities, newest first, each with its enrollment counts by status."""
    q = select(Activity)
    if status:
        q = q.where(Activity.status == status)
    rows = list((await session.execute(q.order_by(Activity.starts_at.desc()).limit(limit))).scalars())
    counts: dict[int, dict[str, int]] = {a.id: {} for a in rows}
    if rows:
        got = await session.execute(select(Enrollment.activity_id, Enrollment.status, func.count())
                                    .where(Enrollment.activity_id.in_(list(counts)))
                                    .group_by(Enrollment.activity_id, Enrollment.status))
        for activity_id, st, n in got.all():
            counts[activity_id][st] = n
    return [(a, counts[a.id]) for a in rows]
