"""Study groups, activities and trainings: list, enroll with capacity and waitlist, cancel.

Enrollment changes lock the activity row (PostgreSQL `FOR UPDATE`; on SQLite every
transaction is BEGIN IMMEDIATE), so two people never take the last seat together.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage import audit, timers
from storage.models import Activity, Enrollment, Person, utcnow
from storage.notify import notify_person

ACTIVE = ("confirmed", "waitlisted")
REMINDER_BEFORE = timedelta(days=1)


class EnrollmentError(StorageError, ValueError):
    """Signing up is not possible; `code` says why (closed, started, not_found)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class EnrollResult:
    enrollment: Enrollment
    created: bool  # False when the person was already signed up


async def list_upcoming(session: AsyncSession, now: datetime, *, audience: str | None = None,
                        limit: int = 20) -> list[Activity]:
    q = (select(Activity).where(Activity.status == "open", Activity.starts_at >= now)
         .order_by(Activity.starts_at).limit(200))
    rows = list((await session.execute(q)).scalars())
    if audience:
        rows = [a for a in rows if audience in (a.audience or []) or "all" in (a.audience or [])]
    return rows[:limit]


async def get_activity(session: AsyncSession, activity_id: int, *, lock: bool = False) -> Activity | None:
    q = select(Activity).where(Activity.id == activity_id)
    if lock:
        q = q.with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


async def seats_taken(session: AsyncSession, activity_id: int) -> int:
    return (await session.execute(
        select(func.count()).select_from(Enrollment)
        .where(Enrollment.activity_id == activity_id, Enrollment.status == "confirmed")
    )).scalar_one()


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
        await _schedule_reminder(session, activity, enrollment, now)
    await audit.record(session, f"person:{person_id}", "enrollment." + enrollment.status, f"activity:{activity_id}")
    return EnrollResult(enrollment, True)


async def _schedule_reminder(session: AsyncSession, activity: Activity, enrollment: Enrollment,
                             now: datetime) -> None:
    due = max(activity.starts_at - REMINDER_BEFORE, now)
    await timers.schedule(session, "activity_reminder", due, target=f"enrollment:{enrollment.id}",
                          payload={"activity_id": activity.id}, dedupe_key=f"activity_reminder:{enrollment.id}")


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
    await timers.cancel(session, dedupe_key=f"activity_reminder:{enrollment.id}")
    await audit.record(session, f"person:{enrollment.person_id}", "enrollment.cancel", f"activity:{activity.id}")
    if was == "confirmed":
        await _promote_from_waitlist(session, activity, now)
    await _renumber_waitlist(session, activity.id)
    await session.flush()
    return enrollment


async def _promote_from_waitlist(session: AsyncSession, activity: Activity, now: datetime) -> None:
    if activity.capacity is not None and await seats_taken(session, activity.id) >= activity.capacity:
        return
    first = (await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity.id, Enrollment.status == "waitlisted")
        .order_by(Enrollment.waitlist_position, Enrollment.id).limit(1)
    )).scalars().first()
    if first is None:
        return
    first.status, first.waitlist_position, first.updated_at = "confirmed", None, now
    await session.flush()
    await _schedule_reminder(session, activity, first, now)
    person = await session.get(Person, first.person_id)
    when = activity.starts_at
    if person is not None and person.locale == "en":
        text = (f"Good news: a seat opened and you are now signed up for {activity.title_en or activity.title}"
                f" ({when:%m-%d %H:%M} UTC, {activity.place}).")
    else:
        text = f"好消息：有人退出了，您已报上“{activity.title}”。地点：{activity.place}。"
    await notify_person(session, first.person_id, text, kind="notice")


async def _renumber_waitlist(session: AsyncSession, activity_id: int) -> None:
    waiting = (await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity_id, Enrollment.status == "waitlisted")
        .order_by(Enrollment.waitlist_position, Enrollment.id)
    )).scalars()
    for position, e in enumerate(waiting, start=1):
        e.waitlist_position = position


async def enrollments_for_person(session: AsyncSession, person_id: int, *, active_only: bool = True
                                 ) -> list[tuple[Enrollment, Activity]]:
    q = select(Enrollment, Activity).join(Activity, Activity.id == Enrollment.activity_id).where(
        Enrollment.person_id == person_id)
    if active_only:
        q = q.where(Enrollment.status.in_(ACTIVE))
    return [(e, a) for e, a in (await session.execute(q.order_by(Activity.starts_at))).all()]


async def roster(session: AsyncSession, activity_id: int) -> list[Enrollment]:
    return list((await session.execute(
        select(Enrollment).where(Enrollment.activity_id == activity_id)
        .order_by(Enrollment.status, Enrollment.waitlist_position, Enrollment.id)
    )).scalars())


async def mark_attended(session: AsyncSession, enrollment_id: int) -> None:
    enrollment = await session.get(Enrollment, enrollment_id)
    if enrollment is not None and enrollment.status == "confirmed":
        enrollment.status = "attended"


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
