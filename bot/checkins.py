"""Return-to-poverty check-ins (防返贫监测) on the leader: a household flagged
`return_to_poverty_watch` (storage/flags.py) is asked once a month to answer three questions
(flows/builtin/checkin.yaml: income dropped? serious illness or accident? a disaster?). Each
run writes the next month's timer. No answer for two months → a `call_household` timer makes a
casework task "call the household" on their open case (or a new one), assigned to the
village's worker, who is paged (storage/flags.call_household_task). A WeChat follower outside the 48-hour window (and no template configured) gets
the call that month too: their invitation waits until they write. Quiet hours and opt-outs
are kept (an opted-out household still gets the call)."""
from __future__ import annotations

from datetime import datetime

from bot.reminders import defer_if_quiet, outside_wechat_window, remember_choices, run_time
from storage import flags as flag_store
from storage import timers
from storage.models import Area, Flag, Person
from storage.notify import best_identity, notify_person, notify_staff
from storage.timers import timer_handler
from vocab.messages import Button


def invitation(flag_id: int, locale: str) -> tuple[str, tuple[Button, ...]]:
    if locale == "en":
        return ("Monthly check-in: three quick questions about how your family is doing. Press to start.",
                (Button("Start", f"/checkin {flag_id}"),))
    return ("每月回访：想问您三个简单问题，看看家里最近怎么样。点“开始”或回复 1。",
            (Button("开始", f"/checkin {flag_id}"),))


@timer_handler(flag_store.CHECKIN)
async def send_checkin(services, session, timer) -> None:
    flag = await session.get(Flag, int(timer.target.split(":", 1)[1]))
    if flag is None or flag.cleared_at is not None:
        return
    person = await session.get(Person, flag.person_id)
    if person is None or person.erased:
        return
    now = run_time(services, timer)
    if not person.opted_out and await defer_if_quiet(services, session, timer, now):
        return
    month = datetime.fromisoformat(timer.payload["deferred_from"]) if timer.payload.get("deferred_from") else timer.due_at
    await flag_store.schedule_checkin(session, flag, month + flag_store.CHECKIN_EVERY)
    unreachable = outside_wechat_window(await best_identity(session, person_id=person.id), now, services.settings)
    if flag_store.silent_too_long(flag, now) or unreachable:
        await timers.schedule(session, flag_store.CALL_HOUSEHOLD, now, target=f"flag:{flag.id}",
                              dedupe_key=f"{flag_store.CALL_HOUSEHOLD}:{flag.id}:{int(month.timestamp())}")
    if person.opted_out:
        return
    text, buttons = invitation(flag.id, person.locale)
    if await notify_person(session, person.id, text, buttons=buttons, kind="checkin", respect_opt_out=True):
        await remember_choices(session, person.id, buttons)


@timer_handler(flag_store.CALL_HOUSEHOLD)
async def call_household(services, session, timer) -> None:
    """A casework task to call the household, assigned to the village's worker, who is paged."""
    flag = await session.get(Flag, int(timer.target.split(":", 1)[1]))
    if flag is None or flag.cleared_at is not None:
        return
    person = await session.get(Person, flag.person_id)
    if person is None or person.erased:
        return
    case, task, created = await flag_store.call_household_task(session, flag, now=run_time(services, timer))
    if not created or task.assignee_staff_id is None:
        return
    village = await session.get(Area, person.village_id) if person.village_id else None
    where = village.name if village else "村子未知"
    text = (f"新任务：请打电话回访 {person.display_name or '村民'}（{where}），防返贫回访两个月没有回复。"
            f"个案 {case.number}。\nNew task: call the household ({where}), no check-in answer for two months; "
            f"case {case.number}.")
    await notify_staff(session, task.assignee_staff_id, text)
