"""Audit log: who did what to which record. Never holds personal free text."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


async def record(session: AsyncSession, actor: str, action: str, target: str = "", data: dict | None = None) -> None:
    session.add(AuditEntry(actor=actor, action=action, target=target, data=data or {}))
