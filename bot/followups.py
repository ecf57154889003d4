"""Case follow-ups on the leader: a case's close writes a `case_followup` timer due at once
(storage/cases.py); here its first run schedules the question for `XIANGZHU_FOLLOWUP_DAYS`
after the close (0 = no follow-ups), and the second asks "问题解决了吗？" with the choices
1 解决了 / 2 没解决 (answered through flows/builtin/case_followup.yaml, recorded by
storage/followups.py). Quiet hours and opt-outs are kept; a case reopened meanwhile is not
asked about. A WeChat follower outside the 48-hour window gets the question when they next write,
and the village's worker a casework task to call them."""
from __future__ import annotations

from datetime import timedelta

from bot.reminders import defer_if_quiet, outside_wechat_window, remember_choices, run_time
from storage import audit, casework
from storage import cases as case_store
from storage import timers
from storage.followups import case_to_follow_up
from storage.models import Person
from storage.notify import best_identity, notify_person, notify_staff
from storage.timers import timer_handler
from vocab.messages import Button

CALL_TITLE = "电话回访：办结回访发不到微信 / call about the follow-up: outside WeChat's window"


def question(number: str, locale: str) -> tuple[str, tuple[Button, ...]]:
    if locale == "en":
        return (f"Some days ago your case {number} was closed. Is the problem solved?",
                (Button("Solved", f"/case_followup {number} yes"), Button("Not solved", f"/case_followup {number} no")))
    return (f"您的求助 {number} 前几天办结了。问题解决了吗？",
            (Button("解决了", f"/case_followup {number} yes"), Button("没解决", f"/case_followup {number} no")))


@timer_handler(case_store.FOLLOWUP)
async def case_followup(services, session, timer) -> None:
    case = await case_to_follow_up(session, timer.target, timer.payload.get("closed_at"))
    if case is None:
        return
    if timer.payload.get("stage") == "plan":
        days = int(getattr(services.settings, "followup_days", 7))
        if days <= 0:
            return
        await timers.schedule(session, case_store.FOLLOWUP, case.closed_at + timedelta(days=days),
                              target=timer.target, payload={**timer.payload, "stage": "ask"},
                              dedupe_key=f"{timer.dedupe_key or timer.id}:ask")
        return
    person = await session.get(Person, case.person_id)
    if person is None or person.opted_out or person.erased:
        return
    now = run_time(services, timer)
    if await defer_if_quiet(services, session, timer, now):
        return
    text, buttons = question(case.number, person.locale)
    if await notify_person(session, person.id, text, buttons=buttons, kind="followup", respect_opt_out=True):
        await remember_choices(session, person.id, buttons)
    if outside_wechat_window(await best_identity(session, person_id=person.id), now, services.settings):
        # the question waits until they write again; meanwhile the village's worker gets a task to call
        task, created = await casework.add_call_task(session, case, CALL_TITLE, village_id=case.village_id, now=now)
        if created and task.assignee_staff_id is not None:
            await notify_staff(session, task.assignee_staff_id,
                               f"新任务：请电话回访，求助 {case.number} 已办结，村民不在微信 48 小时窗口内，"
                               f"回访问题要等他再发消息才能送达。\nNew task: call about case {case.number}: the "
                               f"villager is outside WeChat's 48-hour window.")
        await audit.record(session, "system", "followup.call_task", case.number, {"reason": "outside_window", "task": task.id})
