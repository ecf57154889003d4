"""Talking to a human: availability and working hours, opening a handoff with a summary of
the conversation, emergencies (hotlines first, then every on-duty worker is paged), and
voice notes the bot cannot understand."""
from __future__ import annotations

from datetime import datetime

from flows.mission.common import local_time, localized, pick
from flows.registry import ActionContext, action
from storage import handoffs, policies, routing, timers
from storage.messages import recent_lines
from storage.models import Staff

NORMAL_WAIT_MINUTES = 30
URGENT_WAIT_MINUTES = 10

# used when kv `hotlines` is empty (DOMAIN.md; the demo seed stores the same list)
DEFAULT_HOTLINES = [
    {"number": "110", "label": {"zh": "报警", "en": "Police"},
     "situations": ["danger", "violence", "crime", "domestic_violence", "missing", "disaster", "rescue"]},
    {"number": "119", "label": {"zh": "火警", "en": "Fire and rescue"}, "situations": ["fire", "disaster", "rescue"]},
    {"number": "120", "label": {"zh": "急救", "en": "Ambulance"},
     "situations": ["medical", "injury", "poisoning", "self_harm"]},
    {"number": "12338", "label": {"zh": "妇女维权", "en": "Women's rights"},
     "situations": ["domestic_violence", "women", "violence", "children"]},
    {"number": "12355", "label": {"zh": "青少年服务", "en": "Youth line"},
     "situations": ["children", "youth", "violence", "psychological"]},
    {"number": "12356", "label": {"zh": "心理援助", "en": "Psychological help"},
     "situations": ["psychological", "self_harm"]},
    {"number": "12345", "label": {"zh": "政务服务", "en": "Government service"},
     "situations": ["government", "policy", "complaint"]},
]
# the emergency detector's kinds (nlu/emergency.py) → the hotlines' situation tags
SITUATIONS_BY_KIND = {
    "self_harm": {"self_harm"},
    "violence": {"violence", "domestic_violence", "danger"},
    "fire": {"fire", "rescue"},
    "flood": {"disaster", "rescue"},
    "disaster": {"disaster", "rescue"},
    "medical": {"medical", "injury", "poisoning"},
    "missing_child": {"missing", "children"},
    "missing_person": {"missing"},
    "distress": {"danger"},
}
LIFE_NUMBERS = ("110", "120")  # shown whenever a life may be in danger


async def _staff(ctx: ActionContext, desk: list[routing.DeskMember] | None = None) -> list[routing.DeskMember]:
    if desk is None:
        desk = await routing.desk_members(ctx.session)
    return [s for s in desk if {"worker", "supervisor"} & set(s.roles or [])]


def hours_text(staff: list[Staff] | list[routing.DeskMember], locale: str) -> str:
    """Office hours in words: "周一到周五 08:30–17:30"."""
    duty = routing.hours_of(staff)
    days = duty.get("days", [1, 2, 3, 4, 5])
    if sorted(days) == [1, 2, 3, 4, 5]:
        which = pick(locale, "周一到周五", "Monday to Friday")
    elif sorted(days) == [1, 2, 3, 4, 5, 6, 7]:
        which = pick(locale, "每天", "every day")
    else:
        which = pick(locale, "周" + "、".join("一二三四五六日"[d - 1] for d in sorted(days)),
                     ", ".join("Mon Tue Wed Thu Fri Sat Sun".split()[d - 1] for d in sorted(days)))
    return f"{which} {duty.get('start', '08:30')}–{duty.get('end', '17:30')}"


@action("staff_availability")
async def staff_availability(ctx: ActionContext) -> dict:
    """Whether a social worker is on duty now; when the next one is; working hours.

        - action: staff_availability
        - branch:
            - if: result.on_duty
              goto: open_now
        # result: on_duty, wait_minutes, next_time, hours
    """
    return _availability(ctx, await _staff(ctx))


def _availability(ctx: ActionContext, staff: list[routing.DeskMember]) -> dict:
    tz = _rules(ctx).tz
    now_on = any(routing.is_on_duty(s, ctx.now, tz) for s in staff)
    nxt = None if now_on else routing.next_on_duty(staff, ctx.now, tz)
    return {
        "on_duty": now_on,
        "wait_minutes": NORMAL_WAIT_MINUTES,
        "next_time": local_time(nxt, ctx.locale) if nxt else pick(ctx.locale, "上班后", "the next working day"),
        "hours": hours_text(staff, ctx.locale),
    }


async def conversation_summary(ctx: ActionContext, limit: int = 8, recent: list | None = None) -> str:
    """The last few things the person said, for the worker who picks the handoff up.
    `recent`: the person's `recent_lines` (limit × 2 of them), when the caller read them."""
    if recent is None:
        recent = await recent_lines(ctx.session, ctx.person.id, limit=limit * 2)
    lines = []
    for direction, text in recent:
        if direction == "in" and text and not text.startswith("/"):
            lines.append(text.strip()[:200])
    if ctx.turn.text and not ctx.turn.text.startswith("/") and (not lines or lines[-1] != ctx.turn.text[:200]):
        lines.append(ctx.turn.text.strip()[:200])
    return "\n".join(f"- {line}" for line in lines[-limit:])


def _attachments(ctx: ActionContext) -> list[dict]:
    return [{"kind": a.kind, "path": a.path, "mime": a.mime, "platform_id": a.platform_id, "text": a.text}
            for a in ctx.turn.attachments]


def _rules(ctx: ActionContext) -> routing.DeskRules:
    return routing.DeskRules.from_settings(getattr(ctx.services, "settings", None))


async def schedule_desk_timers(session, handoff, rules: routing.DeskRules, now: datetime,
                               staff: list[routing.DeskMember] | None = None) -> None:
    """The handoff's clock: escalation after N working minutes (per priority), an honest
    word to the villager after M, and — when nobody is on duty — an offer at the first
    worker's shift. Handled on the leader (bot/desk/timers.py). `staff`: the desk's
    members, when the caller has read them."""
    if staff is None:
        staff = await routing.desk_members(session)
    target = f"handoff:{handoff.id}"
    escalate = routing.working_deadline(staff, now, rules.escalate_after(handoff.priority), rules.tz)
    tell = routing.working_deadline(staff, now, rules.tell_villager_minutes, rules.tz)
    rows = [timers.pending("desk_escalate", escalate, target=target,
                           dedupe_key=f"desk_escalate:{handoff.id}:{handoff.priority}"),
            timers.pending("desk_tell_villager", tell, target=target, dedupe_key=f"desk_tell:{handoff.id}")]
    if not any(routing.is_on_duty(s, now, rules.tz) for s in staff):
        first = routing.next_on_duty(staff, now, rules.tz)
        if first is not None:
            rows.append(timers.pending("desk_offer", first, target=target, dedupe_key=f"desk_offer:{handoff.id}"))
    await timers.add_many(session, rows)


async def route_new_handoff(session, handoff, rules: routing.DeskRules, now: datetime,
                            desk: list[routing.DeskMember] | None = None, recent: list | None = None,
                            person: tuple[str, bool] | None = None) -> list[int]:
    """Offer a new handoff: an emergency to everyone on duty in the county at once (out of
    hours: the on-call shift, else the township's supervisor); others to the nearest level
    with someone on duty, least loaded first, under the cap. Returns the staff ids reached.
    `desk`: the desk's members, when the caller has read them; `recent`, `person`: the
    person's recent lines and (display_name, erased), likewise (handoffs.summary)."""
    if handoff.priority == "emergency":
        tiers = await routing.tiers_for(session, handoff.village_id, staff=desk)
        staff = [s for s in await routing.everyone_on_duty(session, handoff.village_id, now, rules.tz, tiers=tiers)
                 if routing.is_on_duty(s, now, rules.tz)]
        if not staff:
            staff = await routing.out_of_hours_pager(session, handoff.village_id, now, tiers=tiers)
        return await handoffs.offer(session, handoff, [s.id for s in staff], header="紧急求助", recent=recent,
                                    person=person)
    staff = await routing.offer_order(session, handoff.village_id, now, rules.tz, cap=rules.max_open, desk=desk)
    return await handoffs.offer(session, handoff, [s.id for s in staff], recent=recent, person=person)


@action("open_handoff", args={"reason": "text?", "priority": "text?", "summary": "text?"})
async def open_handoff(ctx: ActionContext, reason: str = "request", priority: str = "normal",
                       summary: str = "") -> dict:
    """Hand the person to a human. The summary gets the recent conversation appended; photos
    and voice notes of this message are attached. Priority: `emergency` (also any handoff
    with reason emergency) > `urgent` > `normal`. A new handoff is offered to on-duty workers
    (routing: storage/routing.py) and gets its escalation timers. The `handoff:` step runs
    this action.

        - handoff:
            reason: request
            priority: normal
            summary: {zh: "想找社工", en: "Wants a social worker"}
        # result: id, created, wait_minutes, on_duty, next_time
    """
    reason = str(reason or "request")[:32]
    priority = "emergency" if reason == "emergency" or priority == "emergency" else (
        "urgent" if priority == "urgent" else "normal")
    recent = await recent_lines(ctx.session, ctx.person.id, limit=16)  # for both summaries
    text = "\n".join(p for p in (str(summary or "").strip(), await conversation_summary(ctx, recent=recent)) if p)
    village_id = ctx.slots.get("village_id") if isinstance(ctx.slots.get("village_id"), int) else None
    before = await handoffs.open_handoff_for_turn(ctx.session, ctx.person.id)
    old_priority = before.priority if before is not None else None
    handoff, created = await handoffs.open_handoff(
        ctx.session, ctx.person.id, reason=reason, priority=priority, summary=text[:4000],
        village_id=village_id, attachments=_attachments(ctx), now=ctx.now, existing=before,
        person_village=ctx.person.village_id, set_mode=False)  # the turn writes ctx.conversation.mode
    if not created and ctx.turn.attachments:
        handoff.attachments = [*(handoff.attachments or []), *_attachments(ctx)]
    ctx.conversation.mode = "human"
    rules = _rules(ctx)
    person = (ctx.person.display_name, ctx.person.erased)
    paged: list[int] = []
    raised = not created and old_priority != handoff.priority
    desk = None  # the desk's members, read once for the timers and the availability
    if (created or raised) and handoff.status == "waiting":
        if raised:  # the sooner deadline of the new priority replaces the old one
            await timers.cancel(ctx.session, kind="desk_escalate", target=f"handoff:{handoff.id}")
        desk = await routing.desk_members(ctx.session)
        paged = await route_new_handoff(ctx.session, handoff, rules, ctx.now, desk=desk, recent=recent,
                                        person=person)
        await schedule_desk_timers(ctx.session, handoff, rules, ctx.now, staff=desk)
    elif raised and handoff.claimed_by_staff_id:
        await handoffs.offer(ctx.session, handoff, [handoff.claimed_by_staff_id], header="紧急情况", recent=recent,
                              person=person)
    availability = _availability(ctx, await _staff(ctx, desk))
    return {"id": handoff.id, "created": created, "paged": len(paged),
            "wait_minutes": URGENT_WAIT_MINUTES if priority != "normal" else NORMAL_WAIT_MINUTES,
            "on_duty": availability["on_duty"], "next_time": availability["next_time"],
            "hours": availability["hours"]}


def _kinds(emergency) -> set[str]:
    if emergency is None:
        return set()
    raw = emergency.get("kinds") if isinstance(emergency, dict) else getattr(emergency, "kinds", None)
    if isinstance(raw, str):
        raw = [raw]
    return {str(k) for k in raw or []}


@action("emergency_hotlines")
async def emergency_hotlines(ctx: ActionContext) -> dict:
    """The hotlines for this emergency (kv `hotlines`, admins edit them), matched by their
    `situations` to the kinds the emergency detector found; 110 and 120 are always shown,
    since the detector only fires when a life or safety may be in danger. `text` is short.

        - action: emergency_hotlines
        - say: {zh: "{{result.text}}", en: "{{result.text}}"}
    """
    stored = await policies.get_hotlines(ctx.session)
    hotlines = stored or DEFAULT_HOTLINES
    wanted: set[str] = set()
    for kind in _kinds(ctx.turn.emergency) or {"distress"}:
        wanted |= SITUATIONS_BY_KIND.get(kind, {kind})
    chosen = [h for h in hotlines
              if str(h.get("number")) in LIFE_NUMBERS or wanted & set(h.get("situations") or [])]
    for number in LIFE_NUMBERS:  # even if an admin removed them from the list
        if not any(str(h.get("number")) == number for h in chosen):
            chosen.append(next(h for h in DEFAULT_HOTLINES if h["number"] == number))
    parts = [f"{localized(h.get('label'), ctx.locale)} {h.get('number')}" for h in chosen]
    text = pick(ctx.locale, "有危险请马上打电话：" + "，".join(parts) + "。",
                "If anyone is in danger, call now: " + ", ".join(parts) + ".")
    return {"text": text, "numbers": [str(h.get("number")) for h in chosen]}


@action("voice_check")
async def voice_check(ctx: ActionContext) -> dict:
    """Whether this message is a voice note without a transcript the bot could read.

        - action: voice_check
        - branch:
            - if: result.voice
              goto: to_human
    """
    voice = [a for a in ctx.turn.attachments if a.kind == "voice"]
    unreadable = bool(voice) and not any(a.text for a in voice)
    media = [a for a in ctx.turn.attachments if a.kind in ("photo", "document", "video")]
    return {"voice": unreadable, "media": bool(media) and not (ctx.turn.text or "").strip()}
