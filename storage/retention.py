"""Retention: messages older than the retention period lose their words (`anonymize`: text
and attachments blanked, the row with its date, channel, direction and intent kept for
statistics) or go entirely (`delete`, with the delivered outbox rows of that age). Cases,
their events and their statistics are never touched. The caller owns the transaction."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StorageError
from storage.models import BroadcastRecipient, CampaignSend, Message, OutboxMessage

MODES = ("anonymize", "delete")


class RetentionError(StorageError, ValueError):
    """An unknown retention mode."""


@dataclass(frozen=True)
class RetentionReport:
    mode: str
    cutoff: datetime
    messages: int  # anonymized or deleted
    outbox: int  # delivered outbox rows deleted (delete mode)


async def apply_retention(session: AsyncSession, now: datetime, days: int, mode: str = "anonymize"
                          ) -> RetentionReport:
    if mode not in MODES:
        raise RetentionError(f"retention mode {mode!r}: one of {', '.join(MODES)}")
    cutoff = now - timedelta(days=days)
    old = select(Message.id).where(Message.created_at < cutoff)
    if mode == "anonymize":
        result = await session.execute(
            update(Message).where(Message.created_at < cutoff,
                                  or_(Message.text != "", cast(Message.attachments, String) != "[]"))
            .values(text="", attachments=[]).execution_options(synchronize_session=False))
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.created_at < cutoff, OutboxMessage.status.in_(("sent", "failed")),
                                        OutboxMessage.text != "")
            .values(text="", attachments=[]).execution_options(synchronize_session=False))
        return RetentionReport(mode, cutoff, result.rowcount or 0, 0)
    old_outbox = select(OutboxMessage.id).where(OutboxMessage.created_at < cutoff,
                                                OutboxMessage.status.in_(("sent", "failed")))
    for sent_by in (BroadcastRecipient, CampaignSend):  # their counts stay; the link to the text goes
        await session.execute(
            update(sent_by).where(sent_by.outbox_id.in_(old_outbox)).values(outbox_id=None)
            .execution_options(synchronize_session=False))
    gone_outbox = await session.execute(
        delete(OutboxMessage).where(OutboxMessage.created_at < cutoff, OutboxMessage.status.in_(("sent", "failed")))
        .execution_options(synchronize_session=False))
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.inbound_message_id.in_(old)).values(inbound_message_id=None)
        .execution_options(synchronize_session=False))
    gone = await session.execute(delete(Message).where(Message.created_at < cutoff)
                                 .execution_options(synchronize_session=False))
    return RetentionReport(mode, cutoff, gone.rowcount or 0, gone_outbox.rowcount or 0)
