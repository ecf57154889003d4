"""Activities and study groups: list, details, join (waitlist), my sign-ups, cancel."""
from __future__ import annotations

from flows.mission.common import as_int, choice, local_time, pick
from flows.registry import ActionContext, action
from storage import activities as store
from storage.activities import EnrollmentError
from storage.models import Activity

AUDIENCES = ("children", "elderly", "women", "training")


def _title(a: Activity, locale: str) -> str:
    return (a.title_en or a.title) if locale == "en" else a.title


@action("list_activities", args={"audience": "text?"})
async def list_activities(ctx: ActionContext, audience: str = "") -> dict:
    """Upcoming open activities, soonest first, optionally for one audience (children,
    elderly, women, training; anything else = all): `count`, `text`, `items`.

        - action: list_activities
          args: {audience: "{{audience}}"}
        - ask:
            slot: activity
            choices_from: result.items
    """
    audience = audience if audience in AUDIENCES else None
    rows = await store.list_upcoming(ctx.session, ctx.now, audience=audience, limit=8)
    if audience == "training":
        extra = [a for a in await store.list_upcoming(ctx.session, ctx.now, limit=50)
                 if a.kind == "training" and a not in rows]
        rows = sorted(rows + extra, key=lambda a: a.starts_at)[:8]
    lines = [f"{i}. {_title(a, ctx.locale)} · {local_time(a.starts_at, ctx.locale)}" for i, a in enumerate(rows, 1)]
    items = [choice(a.id, a.title, a.title_en or a.title) for a in rows]
    return {"count": len(rows), "text": "\n".join(lines), "items": items}


@action("activity_details", args={"activity": "any"})
async def activity_details(ctx: ActionContext, activity) -> dict:
    """One activity: when, where, who for, seats left (`found`, `text`, `full`).

        - action: activity_details
          args: {activity: "{{activity}}"}
    """
    act = await _activity(ctx, activity)
    if act is None:
        return {"found": False, "text": pick(ctx.locale, "没找到这个活动。", "I could not find that activity.")}
    ctx.slots["activity"] = str(act.id)
    taken = await store.seats_taken(ctx.session, act.id)
    if act.capacity is None:
        seats = pick(ctx.locale, "名额不限", "no seat limit")
        full = False
    else:
        left = max(act.capacity - taken, 0)
        full = left == 0
        seats = (pick(ctx.locale, f"还剩 {left} 个名额（共 {act.capacity} 个）", f"{left} of {act.capacity} seats left")
                 if not full else pick(ctx.locale, "名额已满，可以排队候补", "full — you can join the waitlist"))
    desc = (act.description_en or act.description) if ctx.locale == "en" else act.description
    lines = [
        f"【{_title(act, ctx.locale)}】",
        pick(ctx.locale, f"时间：{local_time(act.starts_at, 'zh')}", f"When: {local_time(act.starts_at, 'en')}"),
        pick(ctx.locale, f"地点：{act.place}", f"Where: {act.place}") if act.place else "",
        desc.strip()[:200] if desc else "",
        seats,
    ]
    if act.organizer:
        lines.append(pick(ctx.locale, f"组织：{act.organizer}", f"Organiser: {act.organizer}"))
    return {"found": True, "text": "\n".join(line for line in lines if line), "full": full,
            "title": _title(act, ctx.locale), "id": act.id,
            "for_children": "children" in (act.audience or [])}


async def _activity(ctx: ActionContext, ref) -> Activity | None:
    """An activity by id ("12", "act-12") or by words in its title or aliases."""
    text = str(ref or "").strip()
    if text.lower().startswith("act-"):
        text = text[4:]
    number = as_int(text)
    if number is not None:
        act = await store.get_activity(ctx.session, number)
        if act is not None:
            return act
    if not text:
        return None
    low = text.lower()
    for act in await store.list_upcoming(ctx.session, ctx.now, limit=100):
        names = [act.title, act.title_en, *(act.aliases or [])]
        if any(n and (n.lower() in low or low in n.lower()) for n in names):
            return act
    return None


@action("join_activity", args={"activity": "any", "participant_name": "text?"})
async def join_activity(ctx: ActionContext, activity, participant_name: str = "") -> dict:
    """Sign the person (or, as a guardian, their child by name) up. `status` is confirmed,
    waitlisted (with `position`), already, or a reason it failed (closed, started,
    not_found, consent).

        - action: join_activity
          args: {activity: "{{activity}}", participant_name: "{{child_name}}"}
        - branch:
            - if: result.status == 'waitlisted'
              goto: tell_waitlist
    """
    if not ctx.person.consent_given:
        return {"status": "consent"}
    act = await _activity(ctx, activity)
    if act is None:
        return {"status": "not_found"}
    name = str(participant_name or "").strip()[:100]
    try:
        result = await store.enroll(ctx.session, act.id, ctx.person.id, participant_name=name, now=ctx.now)
    except EnrollmentError as exc:
        return {"status": exc.code, "title": _title(act, ctx.locale)}
    e = result.enrollment
    if name:
        household = list(ctx.person.household or [])
        if not any(h.get("name") == name for h in household if isinstance(h, dict)):
            ctx.person.household = household + [{"relation": "child", "name": name}]
    status = e.status if result.created else "already"
    return {"status": status, "position": e.waitlist_position, "title": _title(act, ctx.locale),
            "when": local_time(act.starts_at, ctx.locale), "place": act.place, "enrollment": e.id,
            "was": e.status}


@action("my_signups")
async def my_signups(ctx: ActionContext) -> dict:
    """The person's active sign-ups: `count`, `text`, `items` (value = enrollment id).

        - action: my_signups
        - ask:
            slot: enrollment
            choices_from: result.items
    """
    rows = await store.enrollments_for_person(ctx.session, ctx.person.id)
    lines, items = [], []
    for i, (e, a) in enumerate(rows[:9], start=1):
        who = f"（{e.participant_name}）" if e.participant_name and ctx.locale != "en" else (
            f" ({e.participant_name})" if e.participant_name else "")
        state = (pick(ctx.locale, "已报上", "confirmed") if e.status == "confirmed"
                 else pick(ctx.locale, "有名额给您留着，等您回复要不要", "a seat is kept for you: reply yes or no")
                 if e.status == "offered"
                 else pick(ctx.locale, f"候补第 {e.waitlist_position} 位", f"waitlist #{e.waitlist_position}"))
        lines.append(f"{i}. {_title(a, ctx.locale)}{who} · {local_time(a.starts_at, ctx.locale)} · {state}")
        items.append(choice(e.id, f"{a.title}{who if ctx.locale != 'en' else ''}",
                            f"{a.title_en or a.title}{who if ctx.locale == 'en' else ''}"))
    return {"count": len(lines), "text": "\n".join(lines), "items": items}


@action("cancel_signup", args={"enrollment": "any"})
async def cancel_signup(ctx: ActionContext, enrollment) -> dict:
    """Cancel one of the person's own sign-ups; a freed seat goes to the waitlist.

        - action: cancel_signup
          args: {enrollment: "{{enrollment}}"}
    """
    e = await store.cancel_enrollment(ctx.session, as_int(enrollment) or 0, person_id=ctx.person.id, now=ctx.now)
    if e is None:
        return {"cancelled": False}
    act = await store.get_activity(ctx.session, e.activity_id)
    return {"cancelled": e.status == "cancelled", "title": _title(act, ctx.locale) if act else ""}


@action("answer_waitlist_offer", args={"enrollment": "any", "answer": "text"})
async def answer_waitlist_offer(ctx: ActionContext, enrollment, answer: str) -> dict:
    """The person's answer (yes / no) to the offer of a freed seat (bot/waitlist.py):
    `outcome` is confirmed, declined, lapsed (expired or already answered) or not_found.

        - action: answer_waitlist_offer
          args: {enrollment: "{{offer}}", answer: "{{answer}}"}
    """
    outcome, act = await store.answer_offer(ctx.session, as_int(enrollment) or 0, person_id=ctx.person.id,
                                            accept=str(answer).strip().lower() in ("yes", "1", "要"), now=ctx.now)
    return {"outcome": outcome, "title": _title(act, ctx.locale) if act else "",
            "when": local_time(act.starts_at, ctx.locale) if act else "", "place": act.place if act else ""}
