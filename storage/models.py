"""Tables. Services in this package answer questions and change state; the caller owns the
transaction. Times are stored as timezone-aware UTC.

One module of ~470 lines on purpose: these are declarations only (no logic), grouped by
domain under the headers below, and the whole schema read in one place is what a reviewer of
a migration compares against (Alembic's autogenerate reads `Base.metadata` from here).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out — SQLite forgets the zone otherwise."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


# ── places and people ────────────────────────────────────────────────────────────────────


class Area(Base):
    """County → township → village."""

    __tablename__ = "areas"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    level: Mapped[str] = mapped_column(String(16))  # county | township | village
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    aliases: Mapped[list[Any]] = mapped_column(default=list)  # other spellings, dialect names
    # the village centre, so a location shared from a phone can suggest the village
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class Person(Base):
    """Anyone who messages the bot. Personal fields stay empty until consent is given."""

    __tablename__ = "people"
    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    village_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    locale: Mapped[str] = mapped_column(String(8), default="zh")
    phone: Mapped[str] = mapped_column(String(32), default="")
    consent_given: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_at: Mapped[datetime | None]
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)  # reminders and broadcasts
    household: Mapped[list[Any]] = mapped_column(default=list)  # [{"relation": "child", "name": ...}]
    # a worker's `/flag REASON`: the household is watched for a return to poverty
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]

    identities: Mapped[list["ChannelIdentity"]] = relationship(back_populates="person")


class ChannelIdentity(Base):
    """One messenger account. Several may belong to one person; a staff member's own
    messenger account is linked through `staff_id`."""

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)  # blocked / unsubscribed
    last_inbound_at: Mapped[datetime | None]  # WeChat's 48-hour customer-service window
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="identities")


# ── staff ────────────────────────────────────────────────────────────────────────────────


class Staff(Base):
    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    roles: Mapped[list[Any]] = mapped_column(default=list)  # admin | supervisor | worker | viewer
    # {"days": [1,2,3,4,5], "start": "08:30", "end": "17:30"}; empty = office hours
    on_duty: Mapped[dict[str, Any]] = mapped_column(default=dict)
    phone: Mapped[str] = mapped_column(String(32), default="")
    # `/duty on|off`: "on" | "off" until `duty_override_until` (the next shift boundary)
    duty_override: Mapped[str] = mapped_column(String(4), default="")
    duty_override_until: Mapped[datetime | None]
    desk_handoff_id: Mapped[int | None]  # the handoff the worker's messenger replies go to (no FK: a cycle)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    areas: Mapped[list[Area]] = relationship(secondary="staff_areas", lazy="selectin")


class OnCallShift(Base):
    """The on-call rota admins keep: who is paged for emergencies out of hours."""

    __tablename__ = "on_call_shifts"
    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffArea(Base):
    __tablename__ = "staff_areas"
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), primary_key=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class StaffSession(Base):
    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)  # hash of the cookie value
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class WorkerInvite(Base):
    """A one-time code a worker sends from a messenger (`/start w-CODE`) to link it."""

    __tablename__ = "worker_invites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(128), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class Flag(Base):
    """A worker's mark on a person (their household), e.g. "return_to_poverty_watch": the
    household gets the monthly check-in (bot/checkins.py) until the flag is cleared."""

    __tablename__ = "flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # who flagged
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_answer_at: Mapped[datetime | None]  # the household's last check-in answer
    cleared_at: Mapped[datetime | None]
    cleared_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


# ── conversations and messages ───────────────────────────────────────────────────────────


class Conversation(Base):
    """Where a person is in the dialogue: one row per person, persisted after every turn."""

    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    flow_id: Mapped[str | None] = mapped_column(String(64))
    flow_version_id: Mapped[int | None] = mapped_column(ForeignKey("flow_versions.id"))
    step: Mapped[str | None] = mapped_column(String(64))
    slots: Mapped[dict[str, Any]] = mapped_column(default=dict)
    stack: Mapped[list[Any]] = mapped_column(default=list)  # called flows to return to
    mode: Mapped[str] = mapped_column(String(8), default="bot")  # bot | human
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)  # engine bookkeeping
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Message(Base):
    """Every message in or out. (channel, channel_message_id) dedupes inbound deliveries."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("channel", "channel_message_id"),
        Index("ix_messages_person_created", "person_id", "created_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(16))
    channel_message_id: Mapped[str | None] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(4))  # in | out
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    intent: Mapped[str] = mapped_column(String(32), default="")
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # a worker's relay
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ── cases ────────────────────────────────────────────────────────────────────────────────


class CaseCounter(Base):
    """Per-year sequence for case numbers, advanced with one atomic UPDATE."""

    __tablename__ = "case_counters"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class NeedRequest(Base):
    """A villager's need: a case with a number they can follow."""

    __tablename__ = "need_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # XZ-2026-000123
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)  # who is helped
    filed_by_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    filed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    on_behalf: Mapped[bool] = mapped_column(Boolean, default=False)
    subject_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    category: Mapped[str] = mapped_column(String(32))
    affected: Mapped[str] = mapped_column(String(16), default="self")  # self|child|elder|household|other
    urgency: Mapped[str] = mapped_column(String(16), default="normal")  # low|normal|high|urgent
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 highest
    status: Mapped[str] = mapped_column(String(16), default="new")
    stage: Mapped[str] = mapped_column(String(16), default="received")  # received|assessed|plan|in_service|closed
    description: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]

    events: Mapped[list["CaseEvent"]] = relationship(order_by="CaseEvent.id", back_populates="case")


class CaseEvent(Base):
    __tablename__ = "case_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("need_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # created|status|note|assigned|attachment|message
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # shown on the villager's timeline
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[NeedRequest] = relationship(back_populates="events")



# ── casework: agencies, case plans, tasks, referrals ─────────────────────────────────────


class Agency(Base):
    """An office or organisation cases are referred to (民政, 残联, an NGO…); admins keep the list."""

    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100), default="")
    kind: Mapped[str] = mapped_column(String(16), default="government")  # government | ngo | service_center
    contact: Mapped[str] = mapped_column(String(200), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # None = the whole county
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CasePlanItem(Base):
    """One line of a case plan: what is to be done, by whom (a staff member or an agency), by when."""

    __tablename__ = "case_plan_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("need_requests.id"), index=True)
    what: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done | dropped
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseTask(Base):
    """A worker's to-do on a case (a follow-up call, a home visit): overdue once its day has passed."""

    __tablename__ = "case_tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("need_requests.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    due_on: Mapped[date] = mapped_column(Date)
    assignee_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    done_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """A case sent to an agency: sent → accepted → done, or declined."""

    __tablename__ = "referrals"
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("need_requests.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | accepted | done | declined
    note: Mapped[str] = mapped_column(Text, default="")  # internal: what the agency said
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # done or declined


# ── resource linking: offers of help and their matches to cases ─────────────────────────


class Offer(Base):
    """Help someone offers (goods, hours, money, a service), for some need categories in an
    area, for a while. Used for matching only once a worker approved it."""

    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_status_area", "status", "area_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    offerer_kind: Mapped[str] = mapped_column(String(16))  # person|team|organisation|enterprise|programme
    offerer_name: Mapped[str] = mapped_column(String(200))
    offerer_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))  # offered through the bot
    categories: Mapped[list[Any]] = mapped_column(default=list)  # vocab.cases.CATEGORIES
    description: Mapped[str] = mapped_column(Text, default="")
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    remaining: Mapped[int] = mapped_column(Integer, default=1)  # capacity left
    unit: Mapped[str] = mapped_column(String(8), default="件")  # 人 | 件 | 小时 | 元
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # village, township or county
    available_from: Mapped[date | None] = mapped_column(Date)
    available_until: Mapped[date | None] = mapped_column(Date)
    conditions: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | approved | blocked
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    review_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Match(Base):
    """One offer linked to one case: tentative → confirmed → delivered → acknowledged
    (or cancelled)."""

    __tablename__ = "matches"
    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("need_requests.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="tentative")
    proposed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    when_text: Mapped[str] = mapped_column(String(200), default="")  # when the help comes, in words
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]


class MatchEvent(Base):
    """The communication log of a match: status changes, calls, messages sent."""

    __tablename__ = "match_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    match_id: Mapped[int] = mapped_column(ForeignKey("matches.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # status | call | told_villager | told_offerer | note
    text: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# ── activities ───────────────────────────────────────────────────────────────────────────


class Activity(Base):
    __tablename__ = "activities"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # study_group | activity | training
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    place: Mapped[str] = mapped_column(String(200), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]
    capacity: Mapped[int | None] = mapped_column(Integer)  # None = unlimited
    audience: Mapped[list[Any]] = mapped_column(default=list)  # children|elderly|women|training|all
    organizer: Mapped[str] = mapped_column(String(100), default="")
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | closed | cancelled
    aliases: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (Index("ix_enrollments_activity_status", "activity_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(ForeignKey("activities.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)  # who signed up
    participant_name: Mapped[str] = mapped_column(String(100), default="")  # "" = the person
    status: Mapped[str] = mapped_column(String(16))  # confirmed|waitlisted|cancelled|attended
    waitlist_position: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# ── handoffs ─────────────────────────────────────────────────────────────────────────────


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_status_priority", "status", "priority"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|claimed|closed
    priority: Mapped[str] = mapped_column(String(16), default="normal")  # emergency | urgent | normal
    reason: Mapped[str] = mapped_column(String(32), default="request")
    summary: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    village_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("need_requests.id"))
    claimed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    outcome: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    first_reply_at: Mapped[datetime | None]  # the first human answer
    last_villager_at: Mapped[datetime | None]  # the villager's last message while claimed
    last_worker_at: Mapped[datetime | None]  # the claiming worker's last answer
    told_villager_at: Mapped[datetime | None]  # "nobody could answer yet", with the hotlines
    offered_to: Mapped[list[Any]] = mapped_column(default=list)  # staff ids notified
    skipped_by: Mapped[list[Any]] = mapped_column(default=list)  # staff ids who pressed Skip
    transfers: Mapped[int] = mapped_column(Integer, default=0)
    satisfaction: Mapped[int | None] = mapped_column(Integer)  # 1 satisfied, 2 so-so, 3 not satisfied


class HandoffNote(Base):
    """A worker's private note on a handoff; never sent to the villager."""

    __tablename__ = "handoff_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedAnswer(Base):
    """A canned reply with {name} {village} {case}: a worker's own (staff_id) or shared (None)."""

    __tablename__ = "saved_answers"
    __table_args__ = (UniqueConstraint("staff_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# ── content: flows and policies ──────────────────────────────────────────────────────────


class Flow(Base):
    __tablename__ = "flows"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    current_version_id: Mapped[int | None]  # the published FlowVersion (no FK: a cycle)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FlowVersion(Base):
    """Immutable. A draft is a version that was never published."""

    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    flow_id: Mapped[str] = mapped_column(ForeignKey("flows.id"))
    version: Mapped[int] = mapped_column(Integer)
    spec_version: Mapped[int] = mapped_column(Integer, default=1)
    yaml: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


class Policy(Base):
    __tablename__ = "policies"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # canonical id, e.g. dibao
    current_version_id: Mapped[int | None]  # the published PolicyVersion (no FK: a cycle)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PolicyVersion(Base):
    """Immutable. Text fields are {"zh": ..., "en": ...}."""

    __tablename__ = "policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    who_qualifies: Mapped[dict[str, Any]] = mapped_column(default=dict)
    what_you_get: Mapped[dict[str, Any]] = mapped_column(default=dict)
    how_to_apply: Mapped[dict[str, Any]] = mapped_column(default=dict)
    documents: Mapped[dict[str, Any]] = mapped_column(default=dict)
    contact: Mapped[dict[str, Any]] = mapped_column(default=dict)
    notes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # common misunderstandings
    legal_basis: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sources: Mapped[list[Any]] = mapped_column(default=list)  # URLs
    keywords: Mapped[list[Any]] = mapped_column(default=list)  # synonyms for search
    effective_date: Mapped[date | None] = mapped_column(Date)
    eligibility: Mapped[dict[str, Any]] = mapped_column(default=dict)  # questions and rules
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]


class PolicyOverride(Base):
    """Local facts for one area (village, township or county), e.g. the local dibao standard."""

    __tablename__ = "policy_overrides"
    __table_args__ = (UniqueConstraint("policy_id", "area_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[str] = mapped_column(ForeignKey("policies.id"))
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"))
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)  # same shape as PolicyVersion
    effective_date: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


# ── delivery, timers, settings, audit ────────────────────────────────────────────────────


class OutboxMessage(Base):
    """A message decided in a transaction and sent after it commits (at least once)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
        Index("ix_outbox_channel_recipient", "channel", "recipient", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="reply")  # reply|notice|reminder|relay|page
    text: Mapped[str] = mapped_column(Text, default="")
    buttons: Mapped[list[Any]] = mapped_column(default=list)  # [{"title", "payload"}]
    attachments: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sending|sent|failed|held
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")
    delivery: Mapped[str] = mapped_column(String(16), default="")  # how it went out, e.g. passive|custom|template
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Timer(Base):
    """A row "due at T": reminders, escalations, follow-ups. Claimed with a conditional UPDATE."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_state_due", "state", "due_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(64), default="")  # e.g. "enrollment:12"
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|claimed|done|cancelled|failed
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Campaign(Base):
    """A campaign as data (flows/campaigns.py checks the YAML; storage/campaigns.py schedules
    its `campaign` timers). Editing bumps `version` and reschedules every pending row."""

    __tablename__ = "campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    yaml: Mapped[str] = mapped_column(Text)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="active")  # active | paused | removed
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignSend(Base):
    """One campaign row's fate for one person: `sent` (an outbox row, or a flow started) or
    `skipped` with the exclusion that applied. The staff web counts sent, answered (the person
    wrote after it) and opted out from these rows."""

    __tablename__ = "campaign_sends"
    __table_args__ = (Index("ix_campaign_sends_campaign", "campaign_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent | skipped
    reason: Mapped[str] = mapped_column(String(32), default="")
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    # the outbound message row written with it: a later inbound row of the person is an answer
    # (ids, not clocks, order them; no foreign key, retention may delete the message)
    message_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """A message to a segment (a village, an activity's participants, everyone who
    consented), sent by the leader in rate-limited batches (bot/broadcasts.py)."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    segment: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"village": "v1"} | {"activity": 3} | {"everyone": true}
    text: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"zh": ..., "en": ...}
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    state: Mapped[str] = mapped_column(String(16), default="sending")  # sending | done
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class BroadcastRecipient(Base):
    """One person of a broadcast: pending → queued (an outbox row; delivered or failed is the
    outbox row's fate) or skipped with a reason (opted_out, erased, no_channel, outside_window)."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (UniqueConstraint("broadcast_id", "person_id"), Index("ix_broadcast_recipients_state",
                                                                           "broadcast_id", "status"))
    id: Mapped[int] = mapped_column(primary_key=True)
    broadcast_id: Mapped[int] = mapped_column(ForeignKey("broadcasts.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    channel: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | queued | skipped
    reason: Mapped[str] = mapped_column(String(32), default="")
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class KeyValue(Base):
    """Small shared settings and state: hotlines, the knowledge-base version, the WeChat
    access token, the current leader."""

    __tablename__ = "kv"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)
    expires_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # staff:3 | person:5 | system
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(64), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
