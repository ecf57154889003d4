"""Campaigns: storing them and scheduling their `campaign` timers. A campaign's spec (checked
by flows/campaigns.py) names a segment, an anchor date and an offset; each (person, anchor)
in the segment gets one timer at anchor + offset (at `delivery_hour` local, when given), if
that is still ahead. Adding, editing, pausing and removing cancel and rewrite the pending
rows in the same transaction, so an edit can never leave people on the old schedule; the
leader's `campaigns` job adds rows for anchors that appeared since (new sign-ups, closes,
flags, consents). The caller owns the transaction."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, timers
from storage.areas import area_ids_under, get_by_code
from storage.errors import StorageError
from storage.models import Activity, Campaign, CampaignSend, Enrollment, Flag, Message, NeedRequest, Person, utcnow

SEND = "campaign"
CLOSED = ("resolved", "closed")


class CampaignError(StorageError, ValueError):
    """A campaign change that is not possible, in words a person can read."""


async def _segment(session: AsyncSession, segment: dict) -> tuple[list[int], dict]:
    """Person ids of the segment, plus what narrows the anchors (an activity, a flag kind)."""
    (kind, value), = segment.items()
    if kind == "village":
        area = await get_by_code(session, str(value))
        if area is None:
            raise CampaignError(f"segment: no area with code {value!r}")
        ids = await area_ids_under(session, [area.id])
        q = select(Person.id).where(Person.village_id.in_(ids), Person.consent_given.is_(True))
        return list((await session.execute(q)).scalars()), {}
    if kind == "activity":
        q = select(Enrollment.person_id).where(Enrollment.activity_id == int(value),
                                               Enrollment.status.in_(("confirmed", "offered", "waitlisted")))
        return sorted(set((await session.execute(q)).scalars())), {"activity": int(value)}
    if kind == "flagged":
        q = select(Flag.person_id).where(Flag.kind == str(value), Flag.cleared_at.is_(None))
        return sorted(set((await session.execute(q)).scalars())), {"flag_kind": str(value)}
    q = select(Person.id).where(Person.consent_given.is_(True))
    return list((await session.execute(q)).scalars()), {}


async def anchors(session: AsyncSession, spec: dict) -> list[tuple[int, str, datetime]]:
    """(person id, anchor ref, anchor time) for everyone in the segment."""
    people, narrow = await _segment(session, spec["segment"])
    if not people:
        return []
    anchor = spec["anchor"]
    if anchor == "activity_start":
        q = (select(Enrollment.person_id, Enrollment.id, Activity.starts_at)
             .join(Activity, Activity.id == Enrollment.activity_id)
             .where(Enrollment.person_id.in_(people), Enrollment.status == "confirmed", Activity.status == "open"))
        if "activity" in narrow:
            q = q.where(Activity.id == narrow["activity"])
        return [(pid, f"enrollment:{eid}", at) for pid, eid, at in (await session.execute(q)).all()]
    if anchor == "case_close":
        q = select(NeedRequest.person_id, NeedRequest.id, NeedRequest.closed_at).where(
            NeedRequest.person_id.in_(people), NeedRequest.status.in_(CLOSED), NeedRequest.closed_at.is_not(None))
        return [(pid, f"case:{cid}", at) for pid, cid, at in (await session.execute(q)).all()]
    if anchor == "flag_date":
        q = select(Flag.person_id, Flag.id, Flag.created_at).where(Flag.person_id.in_(people),
                                                                   Flag.cleared_at.is_(None))
        if "flag_kind" in narrow:
            q = q.where(Flag.kind == narrow["flag_kind"])
        return [(pid, f"flag:{fid}", at) for pid, fid, at in (await session.execute(q)).all()]
    q = select(Person.id, Person.consent_at).where(Person.id.in_(people), Person.consent_at.is_not(None))
    return [(pid, f"person:{pid}", at) for pid, at in (await session.execute(q)).all()]


def due_time(spec: dict, anchor_at: datetime, tz: str) -> datetime:
    due = anchor_at + timedelta(seconds=spec["offset_seconds"])
    hour = spec.get("delivery_hour")
    if hour is not None:
        local = due.astimezone(ZoneInfo(tz))
        due = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    return due


async def schedule_rows(session: AsyncSession, campaign: Campaign, now: datetime, tz: str) -> int:
    """Write the missing pending rows of an active campaign (idempotent). Returns how many
    rows it wrote or found for anchors still ahead."""
    if campaign.state != "active":
        return 0
    n = 0
    for person_id, ref, at in await anchors(session, campaign.spec):
        due = due_time(campaign.spec, at, tz)
        if due <= now:
            continue
        await timers.schedule(session, SEND, due, target=f"campaign:{campaign.id}",
                              payload={"version": campaign.version, "person": person_id, "ref": ref,
                                       "anchor_at": at.isoformat()},
                              dedupe_key=f"{SEND}:{campaign.id}:v{campaign.version}:{ref}:{int(at.timestamp())}")
        n += 1
    return n


async def _cancel_pending(session: AsyncSession, campaign: Campaign) -> int:
    return await timers.cancel(session, kind=SEND, target=f"campaign:{campaign.id}")


async def add(session: AsyncSession, yaml_text: str, spec: dict, *, tz: str, by: str = "system",
              now: datetime | None = None) -> tuple[Campaign, int]:
    now = now or utcnow()
    campaign = Campaign(name=spec["name"], yaml=yaml_text, spec=spec, state="active", version=1, created_by=by,
                        created_at=now, updated_at=now)
    session.add(campaign)
    await session.flush()
    rows = await schedule_rows(session, campaign, now, tz)
    await audit.record(session, by, "campaign.add", f"campaign:{campaign.id}", {"rows": rows})
    return campaign, rows


async def get(session: AsyncSession, campaign_id: int) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.state == "removed":
        raise CampaignError(f"campaign {campaign_id} not found")
    return campaign


async def edit(session: AsyncSession, campaign_id: int, yaml_text: str, spec: dict, *, tz: str, by: str = "system",
               now: datetime | None = None) -> tuple[Campaign, int, int]:
    """Replace the campaign's document: every pending row is cancelled and the schedule is
    written again from the new spec. Returns (campaign, cancelled, scheduled)."""
    now = now or utcnow()
    campaign = await get(session, campaign_id)
    cancelled = await _cancel_pending(session, campaign)
    campaign.name, campaign.yaml, campaign.spec = spec["name"], yaml_text, spec
    campaign.version, campaign.updated_at = campaign.version + 1, now
    await session.flush()
    rows = await schedule_rows(session, campaign, now, tz)
    await audit.record(session, by, "campaign.edit", f"campaign:{campaign.id}",
                       {"version": campaign.version, "cancelled": cancelled, "rows": rows})
    return campaign, cancelled, rows


async def set_state(session: AsyncSession, campaign_id: int, state: str, *, tz: str, by: str = "system",
                    now: datetime | None = None) -> tuple[Campaign, int]:
    """pause | remove (pending rows cancelled) | active (rows written again)."""
    now = now or utcnow()
    if state not in ("active", "paused", "removed"):
        raise CampaignError(f"unknown campaign state {state!r}")
    campaign = await get(session, campaign_id)
    if state == "active" and campaign.state != "active":
        campaign.version += 1  # fresh rows: the paused version's rows stay cancelled
    campaign.state, campaign.updated_at = state, now
    await session.flush()
    changed = await _cancel_pending(session, campaign) if state != "active" else await schedule_rows(
        session, campaign, now, tz)
    await audit.record(session, by, f"campaign.{state}", f"campaign:{campaign.id}", {"rows": changed})
    return campaign, changed


async def listing(session: AsyncSession) -> list[Campaign]:
    return list((await session.execute(select(Campaign).where(Campaign.state != "removed")
                                       .order_by(Campaign.id))).scalars())


async def pending_count(session: AsyncSession, campaign_id: int) -> int:
    from storage.models import Timer

    return (await session.execute(select(func.count()).select_from(Timer).where(
        Timer.kind == SEND, Timer.target == f"campaign:{campaign_id}", Timer.state == timers.PENDING))).scalar_one()


async def anchor_still(session: AsyncSession, spec: dict, person_id: int, ref: str) -> datetime | None:
    """The anchor's time now (None: gone — the sign-up cancelled, the case reopened, …)."""
    for pid, r, at in await anchors(session, spec):
        if pid == person_id and r == ref:
            return at
    return None


async def record_send(session: AsyncSession, campaign_id: int, person_id: int, *, at: datetime,
                      outbox_id: int | None = None, skipped: str = "") -> CampaignSend:
    """What one campaign row did for one person: sent (with its outbox row, if any) or skipped."""
    message_id = None if skipped else (await session.execute(select(func.max(Message.id)).where(
        Message.person_id == person_id, Message.direction == "out"))).scalar_one_or_none()
    row = CampaignSend(campaign_id=campaign_id, person_id=person_id, status="skipped" if skipped else "sent",
                       reason=skipped, outbox_id=outbox_id, message_id=message_id or 0, at=at)
    session.add(row)
    await session.flush()
    return row


def _answered(send=CampaignSend):
    return exists().where(Message.person_id == send.person_id, Message.direction == "in",
                          Message.id > send.message_id)


async def report(session: AsyncSession, campaign_id: int) -> dict:
    """{sent, answered, opted_out, skipped: {reason: n}, pending}: answered = sent to someone who
    wrote afterwards (an inbound message row after the one sent); opted_out = people of this campaign who have opted out now."""
    out = {"sent": 0, "answered": 0, "opted_out": 0, "skipped": {}, "pending": await pending_count(session, campaign_id)}
    rows = (await session.execute(select(CampaignSend.status, CampaignSend.reason, func.count())
                                  .where(CampaignSend.campaign_id == campaign_id)
                                  .group_by(CampaignSend.status, CampaignSend.reason))).all()
    for status, reason, n in rows:
        if status == "sent":
            out["sent"] += n
        else:
            out["skipped"][reason] = out["skipped"].get(reason, 0) + n
    out["answered"] = (await session.execute(select(func.count()).select_from(CampaignSend).where(
        CampaignSend.campaign_id == campaign_id, CampaignSend.status == "sent", _answered()))).scalar_one()
    out["opted_out"] = (await session.execute(select(func.count(func.distinct(CampaignSend.person_id)))
                                              .join(Person, Person.id == CampaignSend.person_id)
                                              .where(CampaignSend.campaign_id == campaign_id,
                                                     Person.opted_out.is_(True)))).scalar_one()
    return out


async def sends(session: AsyncSession, campaign_id: int, limit: int = 50) -> list[tuple[CampaignSend, str]]:
    """The latest rows of a campaign, each with the person's first message after it ("" if none)."""
    rows = list((await session.execute(select(CampaignSend).where(CampaignSend.campaign_id == campaign_id)
                                       .order_by(CampaignSend.id.desc()).limit(limit))).scalars())
    out = []
    for row in rows:
        answer = (await session.execute(select(Message.text).where(
            Message.person_id == row.person_id, Message.direction == "in", Message.id > row.message_id)
            .order_by(Message.id).limit(1))).scalar_one_or_none() if row.status == "sent" else None
        out.append((row, answer or ""))
    return out


async def area_of(session: AsyncSession, spec: dict) -> tuple[bool, int | None]:
    """(placed, area id) of a campaign's segment: a village's or an activity's area; flagged
    households and everyone are not placed (county-wide: admins only)."""
    (kind, value), = spec["segment"].items()
    if kind == "village":
        area = await get_by_code(session, str(value))
        return (area is not None), (area.id if area else None)
    if kind == "activity":
        activity = await session.get(Activity, int(value))
        return (activity is not None and activity.area_id is not None), (activity.area_id if activity else None)
    return False, None
