"""A villager's record as staff keep it: consent taken on paper or withdrawn, the opt-out of
reminders and broadcasts, the household members. Every change is audited (kinds and counts,
never names). Erasure is storage/erasure.py; flags are storage/flags.py."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.errors import StorageError
from storage.models import Person, utcnow

RELATIONS = ("spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other")


class PersonEditError(StorageError, ValueError):
    """A change to a villager's record that cannot be made, in words a person can read."""


async def _person(session: AsyncSession, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None or person.erased:
        raise PersonEditError("找不到这个村民，或者信息已删除 / no such villager, or the record was erased")
    return person


async def set_consent(session: AsyncSession, person_id: int, given: bool, *, actor: str,
                      now: datetime | None = None) -> Person:
    """Consent given (e.g. signed on paper at the village office) or withdrawn. Withdrawing
    keeps the data already held; erasing it is a separate, confirmed step."""
    person = await _person(session, person_id)
    if person.consent_given != given:
        person.consent_given = given
        person.consent_at = (now or utcnow()) if given else None
        await audit.record(session, actor, "person.consent_given" if given else "person.consent_withdrawn",
                           f"person:{person_id}")
    return person


async def set_opt_out(session: AsyncSession, person_id: int, opted_out: bool, *, actor: str) -> Person:
    person = await _person(session, person_id)
    if person.opted_out != opted_out:
        person.opted_out = opted_out
        await audit.record(session, actor, "person.opt_out" if opted_out else "person.opt_in", f"person:{person_id}")
    return person


async def add_household_member(session: AsyncSession, person_id: int, relation: str, name: str, *,
                               actor: str) -> Person:
    person = await _person(session, person_id)
    name = " ".join(name.split())[:100]
    if relation not in RELATIONS:
        raise PersonEditError(f"relation must be one of {', '.join(RELATIONS)}")
    if not name:
        raise PersonEditError("名字不能为空 / the name is empty")
    person.household = [*(person.household or []), {"relation": relation, "name": name}]
    await audit.record(session, actor, "person.household_add", f"person:{person_id}",
                       {"relation": relation, "members": len(person.household)})
    return person


async def remove_household_member(session: AsyncSession, person_id: int, index: int, *, actor: str) -> Person:
    person = await _person(session, person_id)
    members = list(person.household or [])
    if not 0 <= index < len(members):
        raise PersonEditError("没有这个家庭成员 / no such household member")
    del members[index]
    person.household = members
    await audit.record(session, actor, "person.household_remove", f"person:{person_id}",
                       {"members": len(members)})
    return person
