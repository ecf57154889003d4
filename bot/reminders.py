"""Coming back to people about activities: the reminders a day and two hours before, and the
notice that an activity moved or was cancelled. The timer rows are written by
storage/activities.py in the transaction that confirms, moves or cancels; these handlers send
them in the person's language to the messenger they used last.

Every handler here keeps quiet hours (bot/quiet_hours.py): due inside them, the timer is done
and a copy is scheduled for their end (`defer_if_quiet`); a reminder whose activity has
started by then is dropped. Reminders respect the person's opt-out; a notice about a change to
their own sign-up does not (like an answer about their own case)."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.quiet_hours import quiet_until
from bot.scheduler import services_clock
from storage import activities as activity_store
from storage import timers
from storage.models import Activity, Conversation, Enrollment, Person, Timer
from storage.notify import notify_person
from storage.timers import timer_handler
from vocab.wechat import CUSTOMER_SERVICE_WINDOW

log = logging.getLogger("xiangzhu.reminders")

WEEKDAYS = {"zh": "一二三四五六日", "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
LEAD = {"zh": {"day_before": "明天", "two_hours": "两小时后"},
        "en": {"day_before": "tomorrow", "two_hours": "in two hours"}}


def run_time(services: Any, timer: Timer) -> datetime:
    """The moment the timer was claimed: the scheduler's `now` for this run."""
    return timer.claimed_at or services_clock(services)()


async def defer_if_quiet(services: Any, session, timer: Timer, now: datetime) -> bool:
    """Inside quiet hours: schedule a copy of `timer` (same kind and target, so cancelling
    the target cancels it too) for their end and return True; the caller then stops."""
    settings = services.settings
    until = quiet_until(now, getattr(settings, "quiet_hours", "21:00-07:00"), settings.timezone)
    if until is None:
        return False
    await timers.schedule(session, timer.kind, until, target=timer.target,
                          payload={**(timer.payload or {}), "deferred_from": timer.due_at.isoformat()},
                          dedupe_key=f"quiet:{timer.id}")
    log.info("timer %s (%s) falls in quiet hours; moved to %s", timer.id, timer.kind, until.isoformat())
    return True


def outside_wechat_window(identity, now: datetime, settings: Any) -> bool:
    """A WeChat follower who last wrote 48 hours ago or more, with no template configured:
    a message to them waits in the outbox until they write again."""
    if identity is None or identity.channel != "wechat" or getattr(settings, "wechat_template_id", ""):
        return False
    return identity.last_inbound_at is None or now - identity.last_inbound_at >= CUSTOMER_SERVICE_WINDOW


async def remember_choices(session, person_id: int, buttons) -> None:
    """A message the bot starts with numbered choices: keep them as the person's last shown
    choices (as the dispatcher does for replies), so a bare "1" or "2" answers it."""
    from bot.dispatcher import SHOWN

    conversation = (await session.execute(
        select(Conversation).where(Conversation.person_id == person_id))).scalar_one_or_none()
    if conversation is None:
        conversation = Conversation(person_id=person_id, state={})
        session.add(conversation)
    conversation.state = {**(conversation.state or {}), SHOWN: [[b.title, b.payload] for b in buttons]}
    await session.flush()


def _when(activity: Activity, locale: str, tz: str) -> str:
    start = activity.starts_at.astimezone(ZoneInfo(tz))
    if locale == "en":
        return f"{WEEKDAYS['en'][start.weekday()]} {start:%m-%d %H:%M}"
    return f"{start.month}月{start.day}日（周{WEEKDAYS['zh'][start.weekday()]}）{start:%H:%M}"


def reminder_text(activity: Activity, enrollment: Enrollment, locale: str, which: str = "day_before",
                  tz: str = "Asia/Shanghai") -> str:
    when = _when(activity, locale, tz)
    if locale == "en":
        who = f" for {enrollment.participant_name}" if enrollment.participant_name else ""
        return (f"Reminder{who}: {activity.title_en or activity.title} is {LEAD['en'].get(which, '')}, "
                f"{when}, at {activity.place}. Can't come? Reply 'cancel sign-up'.")
    who = f"（{enrollment.participant_name}）" if enrollment.participant_name else ""
    return (f"提醒{who}：“{activity.title}”{LEAD['zh'].get(which, '')}开始，{when}，地点：{activity.place}。"
            f"来不了请回复“取消报名”。")


def notice_text(activity: Activity, enrollment: Enrollment, locale: str, change: str, tz: str) -> str:
    en = locale == "en"
    title = (activity.title_en or activity.title) if en else activity.title
    who = (f" ({enrollment.participant_name})" if en else f"（{enrollment.participant_name}）") \
        if enrollment.participant_name else ""
    if change == "cancelled":
        return (f"Sorry{who}: \"{title}\" ({_when(activity, locale, tz)}) is cancelled. Your sign-up has ended."
                if en else f"抱歉{who}：“{title}”（{_when(activity, locale, tz)}）取消了，您的报名已结束。")
    if en:
        return (f"Change{who}: \"{title}\" is now {_when(activity, locale, tz)}, at {activity.place}. "
                f"Can't come? Reply 'cancel sign-up'.")
    return (f"活动有变动{who}：“{title}”改为{_when(activity, locale, tz)}，地点：{activity.place}。"
            f"来不了请回复“取消报名”。")


async def _load(session, timer: Timer) -> tuple[Enrollment, Activity, Person] | None:
    enrollment = await session.get(Enrollment, int(timer.target.split(":", 1)[1]))
    if enrollment is None:
        return None
    activity = await session.get(Activity, enrollment.activity_id)
    person = await session.get(Person, enrollment.person_id)
    if activity is None or person is None:
        return None
    return enrollment, activity, person


@timer_handler(activity_store.REMINDER)
async def send_activity_reminder(services, session, timer) -> None:
    found = await _load(session, timer)
    if found is None:
        return
    enrollment, activity, person = found
    now = run_time(services, timer)
    if enrollment.status != "confirmed" or activity.status != "open" or activity.starts_at <= now:
        return  # cancelled meanwhile, or (after quiet hours) the activity has started
    written_for = timer.payload.get("starts_at")
    if written_for and datetime.fromisoformat(written_for) != activity.starts_at:
        return  # written for a start time the activity no longer has
    if person.opted_out or person.erased:
        return
    if await defer_if_quiet(services, session, timer, now):
        return
    text = reminder_text(activity, enrollment, person.locale, timer.payload.get("which", "day_before"),
                         services.settings.timezone)
    await notify_person(session, person.id, text, kind="reminder", respect_opt_out=True)


@timer_handler(activity_store.NOTICE)
async def send_activity_notice(services, session, timer) -> None:
    found = await _load(session, timer)
    if found is None:
        return
    enrollment, activity, person = found
    now = run_time(services, timer)
    change = timer.payload.get("change")
    if change == "moved" and (enrollment.status not in activity_store.ACTIVE or activity.status != "open"
                              or activity.starts_at <= now):
        return
    if change == "cancelled" and enrollment.status != "called_off":
        return
    if await defer_if_quiet(services, session, timer, now):
        return
    await notify_person(session, person.id,
                        notice_text(activity, enrollment, person.locale, change, services.settings.timezone),
                        kind="notice")
