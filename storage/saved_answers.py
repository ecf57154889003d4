"""Saved answers: canned replies a worker sends by name (`/r NAME`, 回复 NAME), with {name},
{village} and {case} filled in. A worker keeps their own; admins keep shared ones
(`staff_id` None). A worker's own answer wins over a shared one of the same name."""
from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.errors import StorageError
from storage.models import SavedAnswer

FIELDS = ("name", "village", "case")
_FIELD = re.compile(r"\{(\w+)\}")


class SavedAnswerError(StorageError, ValueError):
    pass


def fill(text: str, values: dict[str, str]) -> str:
    """Replace {name} {village} {case}; other braces stay as written."""
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)) if m.group(1) in FIELDS else m.group(0), text)


async def visible(session: AsyncSession, staff_id: int) -> list[SavedAnswer]:
    """The worker's own answers and the shared ones, own first, by name."""
    rows = (await session.execute(select(SavedAnswer).where(
        or_(SavedAnswer.staff_id == staff_id, SavedAnswer.staff_id.is_(None))))).scalars()
    return sorted(rows, key=lambda a: (a.staff_id is None, a.name))


async def find(session: AsyncSession, staff_id: int, name: str) -> SavedAnswer | None:
    name = name.strip().lower()
    for answer in await visible(session, staff_id):
        if answer.name.lower() == name:
            return answer
    return None


async def save(session: AsyncSession, name: str, text: str, *, staff_id: int | None, actor: str) -> SavedAnswer:
    """Create or replace an answer: the worker's own (`staff_id`) or a shared one (None)."""
    name, text = name.strip(), text.strip()
    if not name or not text or len(name) > 64 or len(text) > 4000:
        raise SavedAnswerError("名字和内容都要填，名字不超过 64 个字，内容不超过 4000 字 / "
                               "give a name (up to 64 characters) and a text (up to 4000)")
    if re.search(r"\s", name):  # sent as one word: /r NAME, 回复 NAME
        raise SavedAnswerError("名字不能带空格 / the name cannot contain spaces")
    q = select(SavedAnswer).where(SavedAnswer.name == name)
    q = q.where(SavedAnswer.staff_id == staff_id) if staff_id is not None else q.where(SavedAnswer.staff_id.is_(None))
    row = (await session.execute(q)).scalars().first()
    if row is None:
        row = SavedAnswer(name=name, text=text, staff_id=staff_id)
        session.add(row)
    else:
        row.text = text
    await session.flush()
    await audit.record(session, actor, "saved_answer.save", f"saved_answer:{row.id}", {"shared": staff_id is None})
    return row


async def delete(session: AsyncSession, answer: SavedAnswer, *, actor: str) -> None:
    await audit.record(session, actor, "saved_answer.delete", f"saved_answer:{answer.id}")
    await session.delete(answer)
    await session.flush()
