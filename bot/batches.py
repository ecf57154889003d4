"""Daily batches run by the leader.

`purge_unconsented_messages`: before consent the bot keeps only what the conversation needs
(DESIGN.md "Consent"), so message texts and attachments of people who never consented are
blanked after `XIANGZHU_MESSAGE_RETENTION_DAYS` (default 30). Rows stay (dates and counts
for statistics); the words are gone.

`retention`: everyone's messages older than `XIANGZHU_RETENTION_DAYS` (default 365; 0 = keep)
are anonymized or deleted (`XIANGZHU_RETENTION_MODE`, storage/retention.py); cases keep their
statistics.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update

from bot.scheduler import register_periodic
from storage.models import Message, Person, utcnow
from storage.retention import apply_retention


async def purge_unconsented(session, now: datetime, retention_days: int) -> int:
    cutoff = now - timedelta(days=retention_days)
    unconsented = select(Person.id).where(Person.consent_given.is_(False))
    result = await session.execute(
        update(Message).where(Message.person_id.in_(unconsented), Message.created_at < cutoff,
                              Message.text != "").values(text="", attachments=[])
        .execution_options(synchronize_session=False))
    return result.rowcount or 0


async def purge_unconsented_messages(services) -> None:
    clock = getattr(services, "clock", None) or utcnow
    async with services.db.session() as session:
        await purge_unconsented(session, clock(), services.settings.message_retention_days)


register_periodic("purge_unconsented_messages", CronTrigger(hour=3, minute=30, timezone="Asia/Shanghai"),
                  purge_unconsented_messages,
                  "blank message texts of people who never consented, after the retention period")


async def retention(services) -> None:
    days = int(getattr(services.settings, "retention_days", 0) or 0)
    if days <= 0:
        return
    clock = getattr(services, "clock", None) or utcnow
    async with services.db.session() as session:
        await apply_retention(session, clock(), days, getattr(services.settings, "retention_mode", "anonymize"))


register_periodic("retention", CronTrigger(hour=3, minute=45, timezone="Asia/Shanghai"), retention,
                  "anonymize or delete messages older than XIANGZHU_RETENTION_DAYS")
