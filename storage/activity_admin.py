"""Running an activity from the staff web: create and edit it, open or close its sign-up,
take attendance, message everyone signed up. Moving and cancelling (people are told) live in
storage/activities.py with the enrollment rules; every change here is audited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, notify
from storage.activities import ACTIVE, EnrollmentError, get_activity, offer_next, roster
from storage.models import Activity, utcnow

KINDS = ("activity", "study_group", "training")
AUDIENCES = ("all", "children", "elderly", "women", "training")
EDITABLE = ("kind", "title", "title_en", "description", "description_en", "organizer", "capacity", "audience",
            "ends_at")


@dataclass(frozen=True)
class ActivityFields:
    """What an admin types into the activity form (place and start move with `move_activity`)."""

    kind: str
    title: str
    title_en: str = ""
    description: str = ""
    description_en: str = ""
    place: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None
    audience: tuple[str, ...] = ("all",)
    organizer: str = ""
    area_id: int | None = None


def problems(f: ActivityFields, *, now: datetime, new: bool) -> list[str]:
    """Everything wrong with the form, in plain words."""
    out = []
    if f.kind not in KINDS:
        out.append(f"kind must be one of {', '.join(KINDS)}")
    if not f.title.strip():
        out.append("标题不能为空 / the title is empty")
    if new and f.starts_at is None:
        out.append("请填开始时间 / give the start time")
    if new and f.starts_at is not None and f.starts_at <= now:
        out.append("开始时间已经过了 / the start time is in the past")
    if f.starts_at is not None and f.ends_at is not None and f.ends_at <= f.starts_at:
        out.append("结束时间要晚于开始时间 / the end must come after the start")
    if f.capacity is not None and f.capacity < 1:
        out.append("名额至少 1 个，不限就留空 / seats must be at least 1 (leave empty for no limit)")
    unknown = [a for a in f.audience if a not in AUDIENCES]
    if unknown:
        out.append(f"unknown audience {', '.join(unknown)}")
    return out


async def create_activity(session: AsyncSession, f: ActivityFields, *, actor: str, now: datetime | None = None
                          ) -> Activity:
    now = now or utcnow()
    found = problems(f, now=now, new=True)
    if found:
        raise EnrollmentError("invalid", "; ".join(found))
    activity = Activity(kind=f.kind, title=f.title.strip(), title_en=f.title_en.strip(),
                        description=f.description.strip(), description_en=f.description_en.strip(),
                        place=f.place.strip(), starts_at=f.starts_at, ends_at=f.ends_at, capacity=f.capacity,
                        audience=list(f.audience or ("all",)), organizer=f.organizer.strip(), area_id=f.area_id,
                        status="open", created_at=now)
    session.add(activity)
    await session.flush()
    await audit.record(session, actor, "activity.create", f"activity:{activity.id}", {"area_id": f.area_id})
    return activity


async def edit_activity(session: AsyncSession, activity_id: int, f: ActivityFields, *, actor: str,
                        now: datetime | None = None) -> Activity:
    """Change what the notice says and the seats. More seats: the waitlist moves up (the first
    waiting person is offered the seat, as when someone cancels)."""
    now = now or utcnow()
    activity = await get_activity(session, activity_id, lock=True)
    if activity is None:
        raise EnrollmentError("not_found", f"activity {activity_id} not found")
    found = problems(f, now=now, new=False)
    if f.ends_at is not None and f.ends_at <= activity.starts_at:
        found.append("结束时间要晚于开始时间 / the end must come after the start")
    if found:
        raise EnrollmentError("invalid", "; ".join(found))
    changed = []
    for name in EDITABLE:
        value = getattr(f, name)
        value = list(value or ("all",)) if name == "audience" else value.strip() if isinstance(value, str) else value
        if getattr(activity, name) != value:
            setattr(activity, name, value)
            changed.append(name)
    await session.flush()
    if changed:
        await audit.record(session, actor, "activity.edit", f"activity:{activity.id}", {"fields": changed})
    if "capacity" in changed:
        while await offer_next(session, activity, now) is not None:
            pass
    return activity


async def set_signup_open(session: AsyncSession, activity_id: int, open_: bool, *, actor: str,
                          now: datetime | None = None) -> Activity:
    """Close the sign-up (people already in keep their seats) or open it again."""
    now = now or utcnow()
    activity = await get_activity(session, activity_id, lock=True)
    if activity is None:
        raise EnrollmentError("not_found", f"activity {activity_id} not found")
    if activity.status == "cancelled":
        raise EnrollmentError("closed", "活动已取消 / the activity is cancelled")
    status = "open" if open_ else "closed"
    if activity.status != status:
        activity.status = status
        await audit.record(session, actor, f"activity.signup_{status}", f"activity:{activity.id}")
        await session.flush()
        if open_:
            while await offer_next(session, activity, now) is not None:
                pass
    return activity


async def take_attendance(session: AsyncSession, activity_id: int, present: set[int], *, actor: str) -> int:
    """The enrollments in `present` came (`attended`); confirmed seats not in it did not (a
    mistaken tick can be taken back). Returns how many attended."""
    n = 0
    for e in await roster(session, activity_id):
        if e.status == "confirmed" and e.id in present:
            e.status = "attended"
        elif e.status == "attended" and e.id not in present:
            e.status = "confirmed"
        n += e.status == "attended"
    await session.flush()
    await audit.record(session, actor, "activity.attendance", f"activity:{activity_id}", {"attended": n})
    return n


async def message_participants(session: AsyncSession, activity_id: int, text: str, *, actor: str
                               ) -> tuple[int, int]:
    """Send `text` to everyone signed up or waiting (once per person). People who opted out of
    notices are skipped, as for reminders. Returns (sent, skipped)."""
    text = text.strip()
    if not text:
        raise EnrollmentError("empty", "内容不能为空 / the message is empty")
    sent = skipped = 0
    seen: set[int] = set()
    for e in await roster(session, activity_id):
        if e.status not in ACTIVE or e.person_id in seen:
            continue
        seen.add(e.person_id)
        row = await notify.notify_person(session, e.person_id, text, kind="notice", respect_opt_out=True)
        sent, skipped = (sent + 1, skipped) if row is not None else (sent, skipped + 1)
    await audit.record(session, actor, "activity.message", f"activity:{activity_id}",
                       {"sent": sent, "skipped": skipped})
    return sent, skipped
