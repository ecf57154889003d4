"""Audit log: who did what to which record. Never holds personal free text."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from storage import driver
from storage.models import AuditEntry


_INSERT = driver.Insert(AuditEntry.__table__)  # compiled once per dialect (and set of columns)


async def record(session: AsyncSession, actor: str, action: str, target: str = "", data: dict | None = None, *,
                 at: datetime | None = None) -> None:
    """`at`: the caller's clock (default: now). Written at once on the session's connection,
    in its transaction (an ORM object cost a unit-of-work flush of its own)."""
    row = {"actor": actor, "action": action, "target": target, "data": data or {}}
    if at is not None:
        row["at"] = at
    await driver.run(session, insert, row)


def insert(cur: driver.Cursor, row: dict) -> None:
    """One entry (`record`'s columns as a dict) on a driver cursor, with the caller's other
    statements."""
    cur.insert(_INSERT, [row])


@dataclass(frozen=True)
class AuditQuery:
    """Filters of the audit log. `action` and `subject` match exactly or as a prefix ending
    in a dot or colon (`export` finds `export.cases`, `person:` every person); times are
    [since, until)."""

    actor: str | None = None
    action: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0


def _prefixed(column, value: str) -> ColumnElement[bool]:
    if value.endswith((".", ":")):
        return func.substr(column, 1, len(value)) == value
    return (column == value) | (func.substr(column, 1, len(value) + 1) == value + ".")


async def find(session: AsyncSession, query: AuditQuery, *,
               visible: ColumnElement[bool] | None = None) -> tuple[list[AuditEntry], int]:
    """The entries `query` asks for, newest first, and how many match in all; `visible`
    limits them to what the caller may read."""
    where = [visible if visible is not None else true()]
    if query.actor:
        where.append(AuditEntry.actor == query.actor)
    if query.action:
        where.append(_prefixed(AuditEntry.action, query.action))
    if query.subject:
        where.append(_prefixed(AuditEntry.target, query.subject))
    if query.since is not None:
        where.append(AuditEntry.at >= query.since)
    if query.until is not None:
        where.append(AuditEntry.at < query.until)
    total = (await session.execute(select(func.count()).select_from(AuditEntry).where(*where))).scalar_one()
    rows = await session.execute(select(AuditEntry).where(*where).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                 .limit(query.limit).offset(query.offset))
    return list(rows.scalars()), int(total)
