"""Small shared settings and state in the `kv` table."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import KeyValue, utcnow


async def get(session: AsyncSession, key: str, default: Any = None, *, now: datetime | None = None) -> Any:
    row = await session.get(KeyValue, key)
    if row is None:
        return default
    if row.expires_at is not None and row.expires_at <= (now or utcnow()):
        return default
    return row.value


async def put(session: AsyncSession, key: str, value: Any, *, expires_at: datetime | None = None) -> None:
    row = await session.get(KeyValue, key)
    if row is None:
        session.add(KeyValue(key=key, value=value, expires_at=expires_at))
    else:
        row.value = value
        row.expires_at = expires_at
    await session.flush()
