"""Messages a channel accepted but has not stored yet (their turn still to commit), kept in the
`kv` table so that a crash loses none (WeChat: after `success` it never sends them again; a
leader job handles what a dead process left, bot/channels/wechat/jobs.py), and dropped when
their sender asks to be erased (storage/erasure.py)."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import kv
from storage.models import KeyValue

__all__ = ["drop_sender", "forget", "keep", "of_channel"]


def _key(channel: str, message_id: str) -> str:
    """Within the key's 64 characters whatever the message id's length; "" gives the prefix."""
    digest = hashlib.sha256(message_id.encode("utf-8")).hexdigest()[:40] if message_id else ""
    return f"pending:{channel}:{digest}"


async def keep(session: AsyncSession, channel: str, message_id: str, sender: str, entry: dict, *,
               expires_at: datetime) -> None:
    """Keep `entry` (what the channel needs to handle the message again) until `forget` or
    `expires_at`."""
    await kv.put(session, _key(channel, message_id), {**entry, "sender": sender}, expires_at=expires_at)


async def forget(session: AsyncSession, channel: str, message_id: str) -> None:
    await kv.delete(session, _key(channel, message_id))


async def of_channel(session: AsyncSession, channel: str, now: datetime) -> list[dict]:
    """The entries kept for the channel's messages (expired ones are dropped)."""
    return await kv.with_prefix(session, _key(channel, ""), now=now)


async def drop_sender(session: AsyncSession, channel: str, sender: str) -> int:
    """Forget every kept message of this sender; how many there were."""
    rows = (await session.execute(select(KeyValue.key, KeyValue.value)
                                  .where(KeyValue.key.startswith(_key(channel, ""), autoescape=True)))).all()
    keys = [k for k, value in rows if isinstance(value, dict) and value.get("sender") == sender]
    if keys:
        await session.execute(delete(KeyValue).where(KeyValue.key.in_(keys)))
    return len(keys)
