"""Small shared settings and state in the `kv` table."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete as sa_delete
from sqlalchemy import select
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


async def delete(session: AsyncSession, key: str) -> None:
    await session.execute(sa_delete(KeyValue).where(KeyValue.key == key))


async def with_prefix(session: AsyncSession, prefix: str, *, now: datetime | None = None) -> list[Any]:
    """The values of the unexpired keys that start with `prefix` (the expired ones are deleted)."""
    now = now or utcnow()
    rows = (await session.execute(select(KeyValue).where(KeyValue.key.startswith(prefix, autoescape=True))
                                  .order_by(KeyValue.key))).scalars().all()
    expired = [r.key for r in rows if r.expires_at is not None and r.expires_at <= now]
    if expired:
        await session.execute(sa_delete(KeyValue).where(KeyValue.key.in_(expired)))
    return [r.value for r in rows if r.key not in expired]
