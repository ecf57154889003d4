"""Effects the mission's conversation tests check (flows/builtin/tests/*.yaml), besides the
engine's own (case_opened, enrollment, handoff_opened, slot, flow):

    expect:
      person: {erased: true, opted_out: false}     # fields of the person
      messages_erased: true                        # every stored message text is empty
      case_attachments: 1                          # attachments on the newest case
      case_count: 2                                # cases about the person
      offer_registered: {unit: 件, status: new}     # an offer the person made (or false)
      match_status: acknowledged                   # the newest match on their cases
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.conversation_tests import effect
from storage.models import Match, Message, NeedRequest, Offer, Person


@effect("person")
async def person_fields(session, person_id: int, expected: Any) -> str | None:
    person = await session.get(Person, person_id)
    if person is None:
        return "no person"
    for name, value in dict(expected).items():
        found = getattr(person, name, None)
        if str(found) != str(value) and not (value in ("", None) and found in ("", None)):
            return f"expected person.{name} = {value!r}, found {found!r}"
    return None


@effect("messages_erased")
async def messages_erased(session, person_id: int, expected: Any) -> str | None:
    rows = list((await session.execute(select(Message.text, Message.attachments).where(
        Message.person_id == person_id, Message.direction == "in"))).all())
    kept = [text for text, attachments in rows if text or attachments]
    if expected and kept:
        return f"expected every inbound message erased, {len(kept)} still have text: {kept[:3]}"
    if not expected and not kept:
        return "expected inbound messages to be kept, all are empty"
    return None


@effect("case_attachments")
async def case_attachments(session, person_id: int, expected: Any) -> str | None:
    case = (await session.execute(select(NeedRequest).where(NeedRequest.person_id == person_id)
                                  .order_by(NeedRequest.id.desc()))).scalars().first()
    if case is None:
        return "no case"
    found = len(case.attachments or [])
    return None if found == int(expected) else f"expected {expected} attachments on the case, found {found}"


@effect("case_count")
async def case_count(session, person_id: int, expected: Any) -> str | None:
    found = (await session.execute(select(func.count()).select_from(NeedRequest)
                                   .where(NeedRequest.person_id == person_id))).scalar_one()
    return None if found == int(expected) else f"expected {expected} cases, found {found}"


@effect("offer_registered")
async def offer_registered(session, person_id: int, expected: Any) -> str | None:
    """`offer_registered: {categories: [livelihood], unit: 件, status: new}` or false."""
    rows = list((await session.execute(select(Offer).where(Offer.offerer_person_id == person_id))).scalars())
    if expected is False:
        return None if not rows else f"expected no offer, found {[o.id for o in rows]}"
    if not rows:
        return "expected an offer to be registered, found none"
    for offer in rows:
        if all(str(getattr(offer, k, None)) == str(v) for k, v in dict(expected or {}).items()):
            return None
    return f"expected an offer with {dict(expected)}, found {[{k: getattr(o, k, None) for k in expected} for o in rows]}"


@effect("match_status")
async def match_status(session, person_id: int, expected: Any) -> str | None:
    """The status of the newest match on the person's cases."""
    found = (await session.execute(select(Match.status).join(NeedRequest, NeedRequest.id == Match.case_id)
                                   .where(NeedRequest.person_id == person_id).order_by(Match.id.desc()))).scalars().first()
    return None if str(found) == str(expected) else f"expected the newest match {expected!r}, found {found!r}"
