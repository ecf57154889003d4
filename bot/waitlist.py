"""Waitlist offers: when a seat frees up, storage/activities.py holds it for the first person
waiting (`offered`) and writes a `waitlist_offer` timer; this module sends the offer
("1 要 / 2 不要了", answered through flows/builtin/waitlist_offer.yaml) with a deadline
(`XIANGZHU_WAITLIST_OFFER_HOURS`, never past the start). No answer by then, or a person who
cannot be reached or opted out → the offer lapses and the next person gets it."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.reminders import WEEKDAYS, defer_if_quiet, remember_choices, run_time
from storage import activities as activity_store
from storage.models import Activity, Enrollment, Person
from storage.notify import notify_person
from storage.timers import timer_handler
from vocab.messages import Button

DEFAULT_OFFER_HOURS = 12.0


def _local(t: datetime, locale: str, tz: str) -> str:
    t = t.astimezone(ZoneInfo(tz))
    if locale == "en":
        return f"{WEEKDAYS['en'][t.weekday()]} {t:%m-%d %H:%M}"
    return f"{t.month}月{t.day}日（周{WEEKDAYS['zh'][t.weekday()]}）{t:%H:%M}"


def offer_text(activity: Activity, enrollment: Enrollment, locale: str, deadline: datetime, tz: str) -> str:
    if locale == "en":
        who = f" for {enrollment.participant_name}" if enrollment.participant_name else ""
        return (f"Good news: a seat{who} opened for \"{activity.title_en or activity.title}\" "
                f"({_local(activity.starts_at, locale, tz)}, {activity.place}). It is kept for you until "
                f"{_local(deadline, locale, tz)}. Do you want it?")
    who = f"（{enrollment.participant_name}）" if enrollment.participant_name else ""
    return (f"好消息{who}：“{activity.title}”（{_local(activity.starts_at, locale, tz)}，{activity.place}）"
            f"空出一个名额，给您留到{_local(deadline, locale, tz)}。要吗？")


def offer_buttons(enrollment_id: int, locale: str) -> tuple[Button, ...]:
    yes, no = ("Yes, I want it", "No, thanks") if locale == "en" else ("要", "不要了")
    return (Button(yes, f"/waitlist_offer {enrollment_id} yes"), Button(no, f"/waitlist_offer {enrollment_id} no"))


@timer_handler(activity_store.OFFER)
async def send_waitlist_offer(services, session, timer) -> None:
    enrollment = await session.get(Enrollment, int(timer.target.split(":", 1)[1]))
    if enrollment is None or enrollment.status != "offered":
        return
    activity = await session.get(Activity, enrollment.activity_id)
    person = await session.get(Person, enrollment.person_id)
    now = run_time(services, timer)
    if activity is None or activity.status != "open" or activity.starts_at <= now:
        await activity_store.lapse_offer(session, enrollment.id, now, "too_late")
        return
    if person is None or person.opted_out or person.erased:
        await activity_store.lapse_offer(session, enrollment.id, now, "opted_out")
        return
    if await defer_if_quiet(services, session, timer, now):
        return
    hours = float(getattr(services.settings, "waitlist_offer_hours", DEFAULT_OFFER_HOURS))
    deadline = min(now + timedelta(hours=hours), activity.starts_at)
    tz = services.settings.timezone
    buttons = offer_buttons(enrollment.id, person.locale)
    row = await notify_person(session, person.id, offer_text(activity, enrollment, person.locale, deadline, tz),
                              buttons=buttons, kind="offer", respect_opt_out=True)
    if row is None:
        await activity_store.lapse_offer(session, enrollment.id, now, "unreachable")
        return
    await remember_choices(session, person.id, buttons)
    await activity_store.set_offer_deadline(session, enrollment, deadline)


@timer_handler(activity_store.OFFER_EXPIRY)
async def expire_waitlist_offer(services, session, timer) -> None:
    await activity_store.lapse_offer(session, int(timer.target.split(":", 1)[1]), run_time(services, timer))
