"""What workers keep beside a handoff: private notes on it, and saved answers to reuse.

Notes are staff-only and audited (who, which handoff — never the text). Saved answers are a
worker's own, or shared (no owner; admins keep those); `fill` puts the villager's name,
village and case number into one when it is sent.
"""
from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.errors import StorageError
from storage.models import HandoffNote, SavedAnswer, utcnow

NAME_MAX = 32
TEXT_MAX = 4000


class DeskNoteError(StorageError, ValueError):
    """A note or saved answer the data does not allow (empty, too long, a name taken)."""


async def add_note(session: AsyncSession, handoff_id: int, staff_id: int, text: str, *,
                   now: datetime | None = None) -> HandoffNote:
    text = (text or "").strip()
    if not text:
        raise DeskNoteError("备注是空的 / the note is empty")
    if len(text) > TEXT_MAX:
        raise DeskNoteError(f"备注最多 {TEXT_MAX} 字 / a note has at most {TEXT_MAX} characters")
    note = HandoffNote(handoff_id=handoff_id, staff_id=staff_id, text=text, created_at=now or utcnow())
    session.add(note)
    await session.flush()
    await audit.record(session, f"staff:{staff_id}", "handoff.note", f"handoff:{handoff_id}", {"note": note.id})
    return note


async def notes_for(session: AsyncSession, handoff_id: int) -> list[HandoffNote]:
    return list((await session.execute(
        select(HandoffNote).where(HandoffNote.handoff_id == handoff_id).order_by(HandoffNote.id))).scalars())


async def answers_for(session: AsyncSession, staff_id: int) -> list[SavedAnswer]:
    """The worker's own saved answers, then the shared ones, each by name."""
    rows = (await session.execute(
        select(SavedAnswer).where(or_(SavedAnswer.owner_staff_id == staff_id, SavedAnswer.owner_staff_id.is_(None)))
    )).scalars()
    return sorted(rows, key=lambda a: (a.owner_staff_id is None, a.name))


async def find_answer(session: AsyncSession, staff_id: int, name: str) -> SavedAnswer | None:
    """By name: the worker's own first, else a shared one."""
    for a in await answers_for(session, staff_id):
        if a.name == name.strip():
            return a
    return None


async def save_answer(session: AsyncSession, *, owner_staff_id: int | None, name: str, text: str,
                      actor: str, now: datetime | None = None) -> SavedAnswer:
    """Create or replace the saved answer `name` of the owner (None: a shared one)."""
    name, text = (name or "").strip(), (text or "").strip()
    if not name or len(name) > NAME_MAX or re.search(r"\s", name):
        raise DeskNoteError(f"名字要 1–{NAME_MAX} 个字，不带空格 / the name needs 1-{NAME_MAX} characters, no spaces")
    if not text or len(text) > TEXT_MAX:
        raise DeskNoteError(f"内容要 1–{TEXT_MAX} 个字 / the text needs 1-{TEXT_MAX} characters")
    owner = SavedAnswer.owner_staff_id.is_(None) if owner_staff_id is None else (
        SavedAnswer.owner_staff_id == owner_staff_id)
    row = (await session.execute(select(SavedAnswer).where(owner, SavedAnswer.name == name))).scalars().first()
    if row is None:
        row = SavedAnswer(owner_staff_id=owner_staff_id, name=name, text=text, created_at=now or utcnow())
        session.add(row)
    else:
        row.text = text
    await session.flush()
    await audit.record(session, actor, "saved_answer.save", f"saved_answer:{row.id}")
    return row


async def delete_answer(session: AsyncSession, answer: SavedAnswer, *, actor: str) -> None:
    await audit.record(session, actor, "saved_answer.delete", f"saved_answer:{answer.id}")
    await session.delete(answer)


def fill(text: str, *, name: str = "", village: str = "", case: str = "") -> str:
    """{name}, {village}, {case} replaced; any other brace left as written."""
    values = {"name": name, "village": village, "case": case}
    return re.sub(r"\{(name|village|case)\}", lambda m: values[m.group(1)], text)
