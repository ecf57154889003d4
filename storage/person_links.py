"""Joining two identities of one person: a villager who wrote from Telegram and from WeChat
is two `people` rows until a worker links them. Everything of the second moves to the first
(messenger accounts, messages, cases, handoffs, sign-ups, flags, offers, outbox rows, broadcast
receipts, campaign sends and pending campaign messages); the first keeps its own fields and takes the second's where it has none; the second
row is then removed. Audited with ids only. The caller owns the transaction."""
from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, people
from storage.activities import ACTIVE
from storage.errors import StorageError
from storage.handoffs import OPEN
from storage.campaigns import SEND as CAMPAIGN_SEND
from storage.models import (BroadcastRecipient, CampaignSend, ChannelIdentity, Conversation, Enrollment, Flag, Handoff,
                            Message, NeedRequest, Offer, OutboxMessage, Person, Timer)

# every column that names a person (storage/models.py), except the conversation (one per person)
MOVED = ((ChannelIdentity, "person_id"), (Message, "person_id"), (NeedRequest, "person_id"),
         (NeedRequest, "filed_by_person_id"), (Handoff, "person_id"), (Enrollment, "person_id"),
         (Flag, "person_id"), (Offer, "offerer_person_id"), (OutboxMessage, "person_id"),
         (BroadcastRecipient, "person_id"), (CampaignSend, "person_id"))


class LinkError(StorageError, ValueError):
    """Two identities that cannot be joined, in words a person can read."""


async def link_people(session: AsyncSession, keep_id: int, other_id: int, *, actor: str) -> Person:
    """Join `other_id` into `keep_id`. Refused when either is erased, when both have an open
    handoff, or when both are signed up for the same activity."""
    if keep_id == other_id:
        raise LinkError("这是同一个人 / that is the same person")
    await people.lock_people(session, keep_id, other_id)  # before any of their rows, as a turn does
    keep, other = await session.get(Person, keep_id), await session.get(Person, other_id)
    if keep is None or other is None or keep.erased or other.erased:
        raise LinkError("找不到这个村民，或者信息已删除 / no such villager, or the record was erased")
    open_handoffs = (await session.execute(select(Handoff.person_id).where(
        Handoff.person_id.in_([keep_id, other_id]), Handoff.status.in_(OPEN)))).scalars().all()
    if {keep_id, other_id} <= set(open_handoffs):
        raise LinkError("两边都有没结束的转人工对话，请先结束一个 / both have an open handoff; close one first")
    both = (await session.execute(select(Enrollment.activity_id).where(
        Enrollment.person_id.in_([keep_id, other_id]), Enrollment.status.in_(ACTIVE))
        .group_by(Enrollment.activity_id).having(func.count(func.distinct(Enrollment.person_id)) > 1))).scalars().all()
    if both:
        raise LinkError("两边报名了同一个活动，请先取消一个 / both signed up for the same activity; cancel one first")
    received = set((await session.execute(select(BroadcastRecipient.broadcast_id).where(
        BroadcastRecipient.person_id == keep_id))).scalars())
    if received:  # one receipt per broadcast and person
        await session.execute(delete(BroadcastRecipient).where(BroadcastRecipient.person_id == other_id,
                                                               BroadcastRecipient.broadcast_id.in_(received)))
    await session.execute(delete(Conversation).where(Conversation.person_id == other_id))
    for model, column in MOVED:
        col = getattr(model, column)
        await session.execute(update(model).where(col == other_id).values({column: keep_id})
                              .execution_options(synchronize_session=False))
    await _move_campaign_timers(session, keep_id, other_id)
    for name in ("display_name", "phone", "village_id"):
        if not getattr(keep, name) and getattr(other, name):
            setattr(keep, name, getattr(other, name))
    names = {h.get("name") for h in keep.household or [] if isinstance(h, dict)}
    keep.household = [*(keep.household or []),
                      *(h for h in other.household or [] if isinstance(h, dict) and h.get("name") not in names)]
    if other.consent_given and not keep.consent_given:
        keep.consent_given, keep.consent_at = True, other.consent_at
    keep.opted_out = keep.opted_out or other.opted_out
    await session.flush()
    await session.execute(delete(Person).where(Person.id == other_id))
    session.expunge(other)
    await audit.record(session, actor, "person.link", f"person:{keep_id}", {"joined": other_id})
    return keep



async def _move_campaign_timers(session: AsyncSession, keep_id: int, other_id: int) -> None:
    """A pending campaign message names its person in the payload. It moves to the kept person;
    one anchored on the person itself (`person:ID`, the consent date) is cancelled when the kept
    person has one of the same campaign, so nobody gets the same message twice."""
    pending = (await session.execute(select(Timer).where(Timer.kind == CAMPAIGN_SEND, Timer.state == "pending")))
    rows = [t for t in pending.scalars() if (t.payload or {}).get("person") in (keep_id, other_id)]
    kept_own = {t.target for t in rows if t.payload["person"] == keep_id and t.payload.get("ref") == f"person:{keep_id}"}
    for t in rows:
        if t.payload["person"] != other_id:
            continue
        own_anchor = t.payload.get("ref") == f"person:{other_id}"
        if own_anchor and t.target in kept_own:
            t.state = "cancelled"
            continue
        t.payload = {**t.payload, "person": keep_id, **({"ref": f"person:{keep_id}"} if own_anchor else {})}
