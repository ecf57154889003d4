"""Reminders before an activity: the timer is written when a seat is confirmed
(storage/activities.py); this handler sends it to the villager a day before, unless they
cancelled, opted out of reminders or can no longer be reached."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from storage.models import Activity, Enrollment, Person
from storage.notify import notify_person
from storage.timers import timer_handler

TZ = ZoneInfo("Asia/Shanghai")
WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def reminder_text(activity: Activity, enrollment: Enrollment, locale: str) -> str:
    start = activity.starts_at.astimezone(TZ)
    if locale == "en":
        who = f" for {enrollment.participant_name}" if enrollment.participant_name else ""
        return (f"Reminder{who}: {activity.title_en or activity.title}, "
                f"{WEEKDAYS['en'][start.weekday()]} {start:%m-%d %H:%M}, at {activity.place}. "
                f"Can't come? Reply 'cancel sign-up'.")
    who = f"（{enrollment.participant_name}）" if enrollment.participant_name else ""
    return (f"提醒{who}：“{activity.title}”在{start.month}月{start.day}日（周{WEEKDAYS['zh'][start.weekday()]}）"
            f"{start:%H:%M}，地点：{activity.place}。来不了请回复“取消报名”。")


@timer_handler("activity_reminder")
async def send_activity_reminder(services, session, timer) -> None:
    enrollment = await session.get(Enrollment, int(timer.target.split(":", 1)[1]))
    if enrollment is None or enrollment.status != "confirmed":
        return
    activity = await session.get(Activity, enrollment.activity_id)
    person = await session.get(Person, enrollment.person_id)
    if activity is None or activity.status != "open" or person is None:
        return
    await notify_person(session, person.id, reminder_text(activity, enrollment, person.locale),
                        kind="reminder", respect_opt_out=True)
