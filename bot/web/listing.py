"""What the inbox pages show, read once per request: handoff rows, a conversation with its
history, notes and attachments, the workers' load. Area rules come from bot/authz.py."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import authz
from bot.authz import StaffScope
from storage import casework
from storage import handoffs as handoff_service
from storage import referrals as referral_service
from storage import routing
from storage.messages import recent_history
from storage.models import Area, Handoff, NeedRequest, Person, Staff

HISTORY = 60  # messages shown in a conversation

# What Chromium plays in an <audio> element; AMR and Speex (WeChat, old phones) it does not.
PLAYABLE_AUDIO = frozenset({"audio/ogg", "audio/mpeg", "audio/mp3", "audio/mp4", "audio/aac", "audio/wav",
                            "audio/x-wav", "audio/webm", "audio/flac", "audio/opus"})
SHOWABLE_IMAGE = frozenset({"image/jpeg", "image/jpg", "image/png", "image/gif", "image/webp"})


@dataclass
class Row:
    id: int
    name: str
    village: str
    status: str
    priority: str
    claimed_by: str
    claimed_by_id: int | None
    created_at: datetime
    waited_minutes: int
    summary: str


@dataclass
class Shown:
    """One attachment of a message, as the page shows it."""

    url: str
    kind: str  # image | audio | file
    mime: str
    text: str


@dataclass
class Line:
    """One message of the history."""

    id: int
    direction: str
    who: str  # villager | bot | a worker's name
    text: str
    at: datetime
    attachments: list[Shown] = field(default_factory=list)


def person_name(person: Person | None, t: dict) -> str:
    if person is None:
        return t["unnamed"]
    return person.display_name or f"{t['unnamed']} #{person.id}"


def area_name(area: Area | None, lang: str, t: dict) -> str:
    if area is None:
        return t["unplaced"]
    return area.name_en if lang == "en" and area.name_en else area.name


async def _staff_name(s: AsyncSession, staff_id: int | None) -> str:
    if staff_id is None:
        return ""
    st = await s.get(Staff, staff_id)
    return (st.display_name or st.username) if st else ""


async def row_of(s: AsyncSession, h: Handoff, *, now: datetime, lang: str, t: dict) -> Row:
    person = await s.get(Person, h.person_id)
    area = await s.get(Area, h.village_id) if h.village_id else None
    first = next((line.strip() for line in (h.summary or "").splitlines() if line.strip()), "")
    return Row(h.id, person_name(person, t), area_name(area, lang, t), h.status, h.priority,
               await _staff_name(s, h.claimed_by_staff_id), h.claimed_by_staff_id, h.created_at,
               max(0, int((now - h.created_at).total_seconds() // 60)), first[:120])


async def rows(s: AsyncSession, scope: StaffScope, *, now: datetime, lang: str, t: dict,
               status: str | None = None, claimed_by: int | None = None) -> list[Row]:
    """Open handoffs the caller may see (or those in `status`), urgent first, oldest first."""
    found = await handoff_service.list_handoffs(s, status=status, visible=authz.handoff_filter(scope))
    if claimed_by is not None:
        found = [h for h in found if h.claimed_by_staff_id == claimed_by]
    return [await row_of(s, h, now=now, lang=lang, t=t) for h in found]


async def visible_handoff(s: AsyncSession, scope: StaffScope, handoff_id: int) -> Handoff | None:
    """The handoff if the caller may see it; None for one outside their areas, as for a missing one."""
    h = await s.get(Handoff, handoff_id)
    return h if h is not None and authz.can_see_handoff(scope, h) else None


def shown(handoff_id: int, message_id: int, index: int, a: dict) -> Shown:
    mime = str(a.get("mime") or "").split(";")[0].strip().lower()
    kind = "file"
    if a.get("path") and (mime in SHOWABLE_IMAGE or (a.get("kind") == "photo" and not mime)):
        kind = "image"
    elif a.get("path") and mime in PLAYABLE_AUDIO:
        kind = "audio"
    url = f"/handoffs/{handoff_id}/files/{message_id}/{index}" if a.get("path") else ""
    return Shown(url, kind, mime, str(a.get("text") or ""))


async def history(s: AsyncSession, h: Handoff, t: dict) -> list[Line]:
    names: dict[int, str] = {}
    lines = []
    for m in await recent_history(s, h.person_id, limit=HISTORY):
        if m.direction == "in":
            who = t["villager"]
        elif m.staff_id:
            if m.staff_id not in names:
                names[m.staff_id] = await _staff_name(s, m.staff_id)
            who = names[m.staff_id]
        else:
            who = t["bot"]
        lines.append(Line(m.id, m.direction, who, m.text or "", m.created_at,
                          [shown(h.id, m.id, i, a) for i, a in enumerate(m.attachments or []) if isinstance(a, dict)]))
    return lines


@dataclass
class Note:
    who: str
    text: str
    at: datetime


async def notes(s: AsyncSession, h: Handoff) -> list[Note]:
    return [Note(await _staff_name(s, n.staff_id), n.text, n.created_at) for n in await handoff_service.notes(s, h.id)]


async def case_number(s: AsyncSession, h: Handoff) -> str:
    if h.case_id:
        case = await s.get(NeedRequest, h.case_id)
        if case is not None:
            return case.number
    return ""


async def transfer_targets(s: AsyncSession, h: Handoff) -> list[Staff]:
    """Active staff who may take the handoff: write access covering its village."""
    found = []
    for st in (await s.execute(select(Staff).where(Staff.active.is_(True)).order_by(Staff.username))).scalars():
        if st.id == h.claimed_by_staff_id:
            continue
        scope = await authz.scope_for(s, st)
        if scope.can_write and authz.covers_handoff_area(scope, h.village_id):
            found.append(st)
    return found


@dataclass
class WorkerLoad:
    username: str
    name: str
    role: str
    on_duty: bool
    open: int
    override: str = ""  # "on" | "off": set by /duty or the home page's switch, until `until`
    until: datetime | None = None
    cases: int = 0  # open cases assigned
    overdue: int = 0  # open tasks past their day
    referrals: int = 0  # referrals they made that the agency has not finished


async def workers(s: AsyncSession, scope: StaffScope, *, now: datetime, tz: ZoneInfo) -> list[WorkerLoad]:
    """Workers and supervisors whose areas meet the caller's (admins: everyone), with the number
    of handoffs each has claimed, their open cases, overdue tasks and unfinished referrals, and
    whether they are on duty now."""
    loads = dict((await s.execute(
        select(Handoff.claimed_by_staff_id, func.count()).where(Handoff.status == "claimed")
        .group_by(Handoff.claimed_by_staff_id))).all())
    cases = await casework.open_case_counts(s)
    overdue = await casework.overdue_counts(s, today=casework.local_day(now))
    waiting = await referral_service.waiting_counts(s)
    found = []
    for st in (await s.execute(select(Staff).where(Staff.active.is_(True)).order_by(Staff.username))).scalars():
        other = await authz.scope_for(s, st)
        if other.role not in ("worker", "supervisor"):
            continue
        if not scope.is_admin and not (other.covered & scope.covered):
            continue
        overridden = bool(st.duty_override and st.duty_override_until and now < st.duty_override_until)
        found.append(WorkerLoad(st.username, st.display_name or st.username, other.role,
                                routing.is_on_duty(st, now, tz), int(loads.get(st.id, 0)),
                                st.duty_override if overridden else "",
                                st.duty_override_until if overridden else None,
                                cases.get(st.id, 0), overdue.get(st.id, 0), waiting.get(st.id, 0)))
    return found
