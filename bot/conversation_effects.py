"""Effects the mission's conversation tests check (flows/builtin/tests/*.yaml), besides the
engine's own (case_opened, enrollment, handoff_opened, slot, flow):

    expect:
      person: {erased: true, opted_out: false}     # fields of the person
      messages_erased: true                        # every stored message text is empty
      case_attachments: 1                          # attachments on the newest case
      case_count: 2                                # cases about the person
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from bot.conversation_tests import effect
from storage.models import Message, NeedRequest, Person


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
