"""The handoff clock, run on the leader through timer rows (written with the handoff in
flows/mission/handoff.py and by the relay):

- `desk_offer`: out of hours nobody was offered the handoff; at the first shift it is.
- `desk_escalate`: unclaimed after N working minutes (per priority): everyone on duty in the
  county and the township's supervisors are paged.
- `desk_tell_villager`: unclaimed after M working minutes: the villager is told honestly,
  with the hotlines and the office hours; the handoff stays open.
- `desk_no_reply`: claimed, the villager wrote and the worker did not answer in time: back to
  the queue, the worker told, offered again.

Each handler re-reads the handoff and does nothing when its moment has passed.
"""
from __future__ import annotations

from flows.mission.common import localized, pick
from flows.mission.handoff import DEFAULT_HOTLINES, LIFE_NUMBERS, hours_text
from storage import audit, handoffs as store, policies, routing
from storage.models import Handoff, Person
from storage.notify import notify_person, notify_staff
from storage.timers import timer_handler

from bot.desk.service import reoffer


def _rules(services) -> routing.DeskRules:
    return routing.DeskRules.from_settings(getattr(services, "settings", None))


def _now(services):
    return services.clock()


async def _handoff(session, timer) -> Handoff | None:
    kind, _, raw = (timer.target or "").partition(":")
    if kind != "handoff" or not raw.isdigit():
        return None
    return await session.get(Handoff, int(raw))


@timer_handler("desk_offer")
async def offer_at_shift(services, session, timer) -> None:
    h = await _handoff(session, timer)
    if h is None or h.status != "waiting":
        return
    # its escalation was counted in working minutes from the start: not restarted here
    await reoffer(session, h, now=_now(services), rules=_rules(services), restart_clock=False)


@timer_handler("desk_escalate")
async def escalate(services, session, timer) -> None:
    h = await _handoff(session, timer)
    if h is None or h.status != "waiting":
        return
    now, rules = _now(services), _rules(services)
    staff = await routing.everyone_on_duty(session, h.village_id, now, rules.tz)
    if not any(routing.is_on_duty(s, now, rules.tz) for s in staff):
        staff = [*staff, *await routing.on_call_now(session, now)]
    minutes = rules.escalate_after(h.priority)
    await store.offer(session, h, [s.id for s in staff], header=f"超过 {minutes} 分钟无人认领")
    h.escalated_at = now
    await audit.record(session, "system", "handoff.escalate", f"handoff:{h.id}", {"paged": len(staff)})


async def _hotlines_text(session, locale: str) -> str:
    stored = await policies.get_hotlines(session) or DEFAULT_HOTLINES
    numbers = [h for h in stored if str(h.get("number")) in (*LIFE_NUMBERS, "12345")]
    return "，".join(f"{localized(h.get('label'), locale)} {h.get('number')}" for h in numbers)


@timer_handler("desk_tell_villager")
async def tell_villager(services, session, timer) -> None:
    h = await _handoff(session, timer)
    if h is None or h.status != "waiting":
        return
    person = await session.get(Person, h.person_id)
    locale = "en" if person and person.locale == "en" else "zh"
    staff = [s for s in await routing.desk_members(session) if {"worker", "supervisor"} & set(s.roles or [])]
    hours = hours_text(staff, locale)
    lines = await _hotlines_text(session, locale)
    text = pick(locale,
                f"对不起，社工现在都忙，还没能接您的求助，我们没有忘记，会继续安排。"
                f"急事请打：{lines}。社工上班时间：{hours}。",
                f"Sorry: every social worker is busy and nobody has taken your request yet. It stays open and "
                f"we keep trying. Urgent: call {lines}. Office hours: {hours}.")
    await notify_person(session, h.person_id, text, kind="notice")
    h.told_villager_at = _now(services)


@timer_handler("desk_no_reply")
async def no_reply(services, session, timer) -> None:
    h = await _handoff(session, timer)
    if h is None or h.status != "claimed" or h.claimed_by_staff_id is None:
        return
    if h.last_villager_at is None or (h.last_worker_at is not None and h.last_worker_at >= h.last_villager_at):
        return  # answered since
    worker = h.claimed_by_staff_id
    await store.release_handoff(session, h, reason="no_reply")
    await notify_staff(session, worker, f"#{h.id} 您超过 {_rules(services).no_reply_minutes} 分钟没有回复，"
                                        f"已放回队列。/ #{h.id} went back to the queue: no answer in time.")
    await reoffer(session, h, now=_now(services), rules=_rules(services), header="无人回复，重新排队")
