"""Erasing a person's data on request ("删除我的信息", PIPL).

Removed: name, phone, household members' names, ID numbers (they can only be in the free
text, which goes), free-text descriptions, case notes and outcomes, handoff summaries,
message texts, attachments and their media files. Kept for statistics: category, village,
urgency, dates and status of cases; the activities signed up for (active sign-ups are
cancelled, so the seat goes to the waitlist); the channel identity, so the bot can still
answer the person. Messages a channel accepted but had not stored yet (storage/pending.py) are
dropped: never handled after the erasure. The person is flagged `erased` and an audit entry records the counts
(never the content). The caller owns the transaction; media files are removed at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, people
from storage import pending
from storage.activities import ACTIVE, cancel_enrollment
from storage.models import (CaseEvent, ChannelIdentity, Conversation, Enrollment, Flag, Handoff, HandoffNote, Message,
                            NeedRequest, OutboxMessage, Person)

__all__ = ["ErasureReport", "erase_person"]


@dataclass
class ErasureReport:
    person_id: int
    cases: int = 0
    messages: int = 0
    handoffs: int = 0
    enrollments_cancelled: int = 0
    pending_dropped: int = 0
    files_removed: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        return {"cases": self.cases, "messages": self.messages, "handoffs": self.handoffs,
                "enrollments_cancelled": self.enrollments_cancelled, "pending_dropped": self.pending_dropped,
                "files": len(self.files_removed)}


def _remove_files(attachments: list, media_dir: Path | None, report: ErasureReport) -> None:
    if media_dir is None:
        return
    root = media_dir.resolve()
    for a in attachments or []:
        rel = a.get("path") if isinstance(a, dict) else None
        if not rel:
            continue
        target = (root / rel).resolve()
        if root not in target.parents:  # never outside the media store
            continue
        try:
            target.unlink()
            report.files_removed.append(rel)
        except FileNotFoundError:
            pass


async def erase_person(session: AsyncSession, person_id: int, now: datetime, *,
                       media_dir: Path | str | None, actor: str | None = None) -> ErasureReport:
    """Erase what identifies the person; keep the counts. `media_dir` is the media store
    (XIANGZHU_MEDIA_DIR; the caller passes it, None: no files to remove). Erasing twice is
    harmless."""
    media = Path(media_dir) if media_dir else None
    report = ErasureReport(person_id)
    await people.lock_people(session, person_id)  # before the person's row: the order a turn keeps
    person = await session.get(Person, person_id)
    if person is None:
        return report

    person.display_name, person.phone, person.household = "", "", []
    # flags keep their kind for the counts, not the reason (often health or income)
    await session.execute(update(Flag).where(Flag.person_id == person_id)
                          .values(reason="", cleared_at=func.coalesce(Flag.cleared_at, now)))
    person.consent_given, person.consent_at, person.opted_out = False, None, True
    person.erased, person.erased_at = True, now

    cases = list((await session.execute(select(NeedRequest).where(NeedRequest.person_id == person_id))).scalars())
    for case in cases:
        _remove_files(case.attachments, media, report)
        case.description, case.phone, case.attachments, case.outcome = "", "", [], ""
    if cases:
        await session.execute(update(CaseEvent).where(CaseEvent.case_id.in_([c.id for c in cases]))
                              .values(text="").execution_options(synchronize_session="fetch"))
        # attachment events keep their kind only
    report.cases = len(cases)

    messages = list((await session.execute(select(Message).where(Message.person_id == person_id))).scalars())
    for m in messages:
        _remove_files(m.attachments, media, report)
        m.text, m.attachments = "", []
    report.messages = len(messages)
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.person_id == person_id, OutboxMessage.staff_id.is_(None),
                                    OutboxMessage.status.in_(("sent", "failed")))
        .values(text="", attachments=[]).execution_options(synchronize_session="fetch"))

    handoffs = list((await session.execute(select(Handoff).where(Handoff.person_id == person_id))).scalars())
    for h in handoffs:
        _remove_files(h.attachments, media, report)
        h.summary, h.attachments, h.outcome = "", [], ""
    if handoffs:  # the workers' notes are about the person too
        await session.execute(update(HandoffNote).where(HandoffNote.handoff_id.in_([h.id for h in handoffs]))
                              .values(text="").execution_options(synchronize_session="fetch"))
    report.handoffs = len(handoffs)

    enrollments = list((await session.execute(select(Enrollment).where(Enrollment.person_id == person_id))).scalars())
    for e in enrollments:
        if e.status in ACTIVE:
            await cancel_enrollment(session, e.id, person_id=person_id, now=now)
            report.enrollments_cancelled += 1
        e.participant_name = ""

    identities = (await session.execute(select(ChannelIdentity.channel, ChannelIdentity.external_id)
                                        .where(ChannelIdentity.person_id == person_id))).all()
    for channel, external_id in identities:
        report.pending_dropped += await pending.drop_sender(session, channel, external_id)

    conversation = (await session.execute(
        select(Conversation).where(Conversation.person_id == person_id))).scalar_one_or_none()
    if conversation is not None:
        conversation.slots, conversation.stack = {}, []

    await audit.record(session, actor or f"person:{person_id}", "person.erase", f"person:{person_id}",
                       report.counts())
    await session.flush()
    return report
