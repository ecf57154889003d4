"""The WeChat access_token as every process sees it: one row in `kv` (key
`wechat_access_token`, value `{"token", "expires_at", "fetched_at"}`, the row's own
`expires_at` set too). The leader refreshes it before it expires (bot/channels/wechat/jobs.py);
every process reads it from here. The caller owns the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from storage import kv

__all__ = ["KEY", "StoredToken", "load", "lock_for_refresh", "store"]

KEY = "wechat_access_token"
_LOCK_KEY = 0x7778_746B  # pg advisory lock id for "one refresher at a time" ("wxtk")


@dataclass(frozen=True)
class StoredToken:
    token: str
    expires_at: datetime
    fetched_at: datetime


async def load(session: AsyncSession, *, now: datetime) -> StoredToken | None:
    """The stored token, or None when there is none or it has expired."""
    value = await kv.get(session, KEY, now=now)
    if not value or not value.get("token"):
        return None
    expires_at = datetime.fromisoformat(value["expires_at"])
    if expires_at <= now:
        return None
    return StoredToken(value["token"], expires_at, datetime.fromisoformat(value.get("fetched_at") or value["expires_at"]))


async def store(session: AsyncSession, token: str, *, expires_at: datetime, now: datetime) -> StoredToken:
    await kv.put(
        session,
        KEY,
        {"token": token, "expires_at": expires_at.isoformat(), "fetched_at": now.isoformat()},
        expires_at=expires_at,
    )
    return StoredToken(token, expires_at, now)


async def lock_for_refresh(session: AsyncSession) -> None:
    """On PostgreSQL, wait until no other process is refreshing (a transaction-scoped advisory
    lock, released at commit). On SQLite there is one process and BEGIN IMMEDIATE already
    serialises writers."""
    if session.bind.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
