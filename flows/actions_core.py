"""Actions every flow may use, whatever the mission."""
from __future__ import annotations

from flows.registry import ActionContext, action


@action("set_slots", args={"values": "mapping"})
async def set_slots(ctx: ActionContext, values: dict) -> dict:
    """Give slots a value.

        - action: set_slots
          args:
            values: {urgency: urgent, affected: "{{who}}"}
    """
    ctx.slots.update(values)
    return dict(values)


@action("clear_slots", args={"names": "list"})
async def clear_slots(ctx: ActionContext, names: list) -> dict:
    """Empty slots, e.g. to ask again.

        - action: clear_slots
          args: {names: [village, phone]}
    """
    for name in names:
        ctx.slots.pop(str(name), None)
    return {"cleared": [str(n) for n in names]}


@action("set_locale", args={"locale": "text"})
async def set_locale(ctx: ActionContext, locale: str) -> dict:
    """Switch the person's language (zh or en) from this message on.

        - action: set_locale
          args: {locale: en}
    """
    locale = str(locale).strip().lower()
    if locale not in ("zh", "en"):
        return {"locale": ctx.locale, "changed": False}
    ctx.person.locale = locale
    ctx.turn.locale = locale
    return {"locale": locale, "changed": True}
