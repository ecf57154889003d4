"""Who is asked to take a handoff: duty hours, the `/duty` override, the on-call rota, and the
order of offers (village → township → county, least loaded first, a cap of open handoffs).

Duty follows each worker's hours (`Staff.on_duty`, local time in XIANGZHU_TIMEZONE);
`/duty on|off` overrides them until the worker's next shift boundary (the next start or end
of their hours). Out of hours nobody is offered anything; an emergency pages the on-call
shift (the rota admins keep), else the township's supervisor.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import driver
from storage.models import Area, Handoff, OnCallShift, Staff, StaffArea

DEFAULT_DUTY = {"days": [1, 2, 3, 4, 5], "start": "08:30", "end": "17:30"}
DESK_ROLES = {"worker", "supervisor", "admin"}


def _hours(staff: Staff) -> dict:
    return staff.on_duty or DEFAULT_DUTY


_clock_time = lru_cache(maxsize=256)(time.fromisoformat)  # "08:30" → time(8, 30), parsed once


def scheduled_on_duty(staff: Staff, now: datetime, tz: ZoneInfo) -> bool:
    """Whether `now` falls in the staff member's hours (ISO weekdays, local times)."""
    duty = _hours(staff)
    if duty.get("always"):
        return True
    local = now.astimezone(tz)
    if local.isoweekday() not in duty.get("days", DEFAULT_DUTY["days"]):
        return False
    start = _clock_time(duty.get("start", DEFAULT_DUTY["start"]))
    end = _clock_time(duty.get("end", DEFAULT_DUTY["end"]))
    return start <= local.time() < end


def next_boundary(staff: Staff, now: datetime, tz: ZoneInfo) -> datetime | None:
    """The next moment after `now` the worker's shift starts or ends (within 8 days)."""
    duty = _hours(staff)
    if duty.get("always"):
        return None
    days = duty.get("days", DEFAULT_DUTY["days"])
    start = _clock_time(duty.get("start", DEFAULT_DUTY["start"]))
    end = _clock_time(duty.get("end", DEFAULT_DUTY["end"]))
    local = now.astimezone(tz)
    for offset in range(0, 9):
        day = (local + timedelta(days=offset)).date()
        if day.isoweekday() not in days:
            continue
        for t in (start, end):
            moment = datetime.combine(day, t, tzinfo=tz)
            if moment > local:
                return moment
    return None


def is_on_duty(staff: Staff, now: datetime, tz: ZoneInfo) -> bool:
    """Duty now: the `/duty` override while it lasts, else the hours."""
    if not staff.active:
        return False
    if staff.duty_override and staff.duty_override_until is not None and now < staff.duty_override_until:
        return staff.duty_override == "on"
    return scheduled_on_duty(staff, now, tz)


def set_duty(staff: Staff, on: bool, now: datetime, tz: ZoneInfo) -> datetime:
    """`/duty on|off`: override the hours until the next shift boundary; returns that moment
    (a week ahead for someone without hours)."""
    until = next_boundary(staff, now, tz) or now + timedelta(days=7)
    staff.duty_override, staff.duty_override_until = ("on" if on else "off"), until
    return until


def working_deadline(staff: list[Staff], start: datetime, minutes: int, tz: ZoneInfo) -> datetime:
    """`minutes` working minutes after `start`: minutes in which someone of `staff` is on
    their hours count; nights and weekends do not. Without anyone's hours, plain minutes."""
    if not staff or minutes <= 0:
        return start + timedelta(minutes=max(0, minutes))
    t = start.replace(second=0, microsecond=0)
    left, budget = minutes, 14 * 24 * 60  # two weeks of minutes at most
    while budget > 0:
        # whole minutes until anyone's shift starts or ends: whether someone is on duty stays
        # the same over them, so they are counted (or skipped) at once, not minute by minute
        on = any(scheduled_on_duty(s, t, tz) for s in staff)
        span = min((_minutes_until(b, t) for b in (next_boundary(s, t, tz) for s in staff) if b is not None),
                   default=budget)
        span = max(1, min(span, budget))
        if on:
            if left <= span:
                return t + timedelta(minutes=left)
            left -= span
        t += timedelta(minutes=span)
        budget -= span
    return start + timedelta(minutes=minutes)


def _minutes_until(moment: datetime, t: datetime) -> int:
    """Minute steps from `t` until the first step at or after `moment`."""
    return -(-(moment - t) // timedelta(minutes=1))


async def desk_staff(session: AsyncSession) -> list[Staff]:
    """Active staff who may take handoffs."""
    rows = (await session.execute(select(Staff).where(Staff.active.is_(True)).order_by(Staff.id))).scalars()
    return [s for s in rows if DESK_ROLES & set(s.roles or [])]


@dataclass(frozen=True)
class DeskMember:
    """What routing reads of a staff member, as plain columns (no ORM object, no areas):
    the routing functions below return these. Equal when the staff id is."""

    id: int
    username: str = field(compare=False)
    display_name: str = field(compare=False)
    roles: list = field(compare=False)
    on_duty: dict = field(compare=False)
    active: bool = field(compare=False)
    duty_override: str = field(compare=False)
    duty_override_until: datetime | None = field(compare=False)


_MEMBER_COLUMNS = (Staff.id, Staff.username, Staff.display_name, Staff.roles, Staff.on_duty, Staff.active,
                   Staff.duty_override, Staff.duty_override_until)


_MEMBERS = select(*_MEMBER_COLUMNS).where(Staff.active.is_(True)).order_by(Staff.id)  # built once


# The routing reads run on the driver (storage/driver.py), several in one call: a new
# handoff reads the desk, the loads, the areas' staff and the area tree once each.
_MEMBERS_Q = driver.Query(_MEMBERS)


def _reads(cur: driver.Cursor, queries: tuple[driver.Query, ...]) -> list[list[tuple]]:
    return [cur.rows(q) for q in queries]


async def _read(session: AsyncSession, *queries: driver.Query) -> list[list[tuple]]:
    return await driver.run(session, _reads, queries)


def _members(rows: list[tuple]) -> list[DeskMember]:
    return [m for m in (DeskMember(*row) for row in rows) if DESK_ROLES & set(m.roles or [])]


async def desk_members(session: AsyncSession) -> list[DeskMember]:
    """`desk_staff` as plain columns: for reading duty and roles, not for changing them."""
    (rows,) = await _read(session, _MEMBERS_Q)
    return _members(rows)


_OPEN_LOADS = driver.Query(select(Handoff.claimed_by_staff_id, func.count()).where(
    Handoff.status == "claimed").group_by(Handoff.claimed_by_staff_id))


def _loads(rows: list[tuple]) -> dict[int, int]:
    return {sid: n for sid, n in rows if sid is not None}


async def open_loads(session: AsyncSession) -> dict[int, int]:
    """Claimed handoffs per staff id."""
    (rows,) = await _read(session, _OPEN_LOADS)
    return _loads(rows)


_ASSIGNED = driver.Query(select(StaffArea.staff_id, StaffArea.area_id))
_TREE = driver.Query(select(Area.id, Area.parent_id, Area.level))


def _assigned(rows: list[tuple]) -> dict[int, set[int]]:
    by_staff: dict[int, set[int]] = {}
    for staff_id, area_id in rows:
        by_staff.setdefault(staff_id, set()).add(area_id)
    return by_staff


@dataclass(frozen=True)
class Tiers:
    """The staff of a handoff's place, nearest first: the village's, the township's, the
    county's (everyone on the desk in the county)."""

    village: list[DeskMember]
    township: list[DeskMember]
    county: list[DeskMember]
    township_ids: frozenset[int]
    assigned: dict[int, set[int]] = field(default_factory=dict, compare=False)  # staff id → area ids

    def ordered(self) -> list[list[DeskMember]]:
        return [self.village, self.township, self.county]


async def tiers_for(session: AsyncSession, village_id: int | None, *,
                    staff: list[DeskMember] | None = None) -> Tiers:
    """Who covers a village at each level. A handoff with no village belongs to the
    townships' queues (every township; the demo has one): its township tier is everyone with
    an area in a township, workers of its villages included. `staff`: `desk_members`, when
    the caller has read them."""
    # the whole tree in one read: the county's areas are needed anyway (`county_wide`)
    if staff is None:
        members, assigned, tree = await _read(session, _MEMBERS_Q, _ASSIGNED, _TREE)
        staff = _members(members)
    else:
        assigned, tree = await _read(session, _ASSIGNED, _TREE)
    return _tiers(village_id, staff, _assigned(assigned), tree)


def _tiers(village_id: int | None, staff: list[DeskMember], assigned: dict[int, set[int]],
           rows: list[tuple]) -> Tiers:
    tree = {area_id: (parent_id, level) for area_id, parent_id, level in rows}
    if village_id is not None:
        chain = _chain(tree, village_id)
        village_ids = {a for a in chain if tree[a][1] == "village"}
        township_ids = {a for a in chain if tree[a][1] == "township"}
        county_ids = {a for a in chain if tree[a][1] == "county"}
    else:
        village_ids = set()
        township_ids = {a for a, (_, level) in tree.items() if level == "township"}
        county_ids = {a for a, (_, level) in tree.items() if level == "county"}
    townships_under = {a for a, (parent, _) in tree.items() if parent in county_ids}
    townships = townships_under | township_ids
    villages_under = {a for a, (parent, _) in tree.items() if parent in townships}
    county_wide = county_ids | townships_under | villages_under
    # no village: the township's queue, served by everyone with an area in the township
    township_wide = township_ids if village_id is not None else township_ids | villages_under
    village = [s for s in staff if assigned.get(s.id, set()) & village_ids]
    township = [s for s in staff if assigned.get(s.id, set()) & township_wide and s not in village]
    county = [s for s in staff if (assigned.get(s.id, set()) & county_wide or "admin" in (s.roles or []))
              and s not in village and s not in township]
    return Tiers(village, township, county, frozenset(township_ids), assigned)


def _chain(tree: dict[int, tuple[int | None, str]], area_id: int | None) -> list[int]:
    """The area itself, then its parents up to the county (storage.areas.ancestors, on the
    tree read once)."""
    chain: list[int] = []
    while area_id is not None and area_id in tree and area_id not in chain:
        chain.append(area_id)
        area_id = tree[area_id][0]
    return chain


async def offer_order(session: AsyncSession, village_id: int | None, now: datetime, tz: ZoneInfo, *,
                      cap: int, exclude: set[int] = frozenset(), desk: list[DeskMember] | None = None
                      ) -> list[DeskMember]:
    """Whom to offer a handoff now: the nearest level that has anyone on duty under the cap,
    least loaded first. Admins without areas are not offered (they see everything, serve nothing)."""
    if desk is None:
        loads, members, assigned, tree = await _read(session, _OPEN_LOADS, _MEMBERS_Q, _ASSIGNED, _TREE)
        desk = _members(members)
    else:
        loads, assigned, tree = await _read(session, _OPEN_LOADS, _ASSIGNED, _TREE)
    loads, tiers = _loads(loads), _tiers(village_id, desk, _assigned(assigned), tree)
    # no village: the township's queue only (those further out could not open it)
    for tier in tiers.ordered() if village_id is not None else [tiers.township]:
        ready = [s for s in tier if s.id not in exclude and is_on_duty(s, now, tz) and loads.get(s.id, 0) < cap
                 and _may_take(s)]
        if ready:
            return sorted(ready, key=lambda s: (loads.get(s.id, 0), s.id))
    return []


def _may_take(staff: DeskMember) -> bool:
    """Workers and supervisors serve (admins without those roles see everything, serve nothing)."""
    return bool({"supervisor", "worker"} & set(staff.roles or []))


async def everyone_on_duty(session: AsyncSession, village_id: int | None, now: datetime, tz: ZoneInfo, *,
                           tiers: Tiers | None = None) -> list[DeskMember]:
    """Everyone on duty in the county, and the township's supervisors (on duty or not).
    `tiers`: `tiers_for(session, village_id)`, when the caller has read them."""
    if tiers is None:
        tiers = await tiers_for(session, village_id)
    # paged, not only offered: a worker may not be able to claim a handoff outside their
    # villages, but an emergency or a long wait is everyone's business
    found = [s for tier in tiers.ordered() for s in tier
             if is_on_duty(s, now, tz) and {"worker", "supervisor"} & set(s.roles or [])]
    for s in _township_supervisors(tiers):
        if s not in found:
            found.append(s)
    return found


async def township_supervisors(session: AsyncSession, village_id: int | None, *,
                               tiers: Tiers | None = None) -> list[DeskMember]:
    return _township_supervisors(tiers if tiers is not None else await tiers_for(session, village_id))


def _township_supervisors(tiers: Tiers) -> list[DeskMember]:
    return [s for s in tiers.township + tiers.county if "supervisor" in (s.roles or [])
            and tiers.assigned.get(s.id, set()) & tiers.township_ids]


async def on_call_now(session: AsyncSession, now: datetime) -> list[DeskMember]:
    """The active staff on an on-call shift now, as columns."""
    rows = await session.execute(select(*_MEMBER_COLUMNS).join(OnCallShift, OnCallShift.staff_id == Staff.id).where(
        OnCallShift.starts_at <= now, OnCallShift.ends_at > now, Staff.active.is_(True)))
    return list(dict.fromkeys(DeskMember(*row) for row in rows))


async def on_call_rota(session: AsyncSession, now: datetime, *, limit: int = 20) -> list[tuple[OnCallShift, Staff]]:
    """The on-call shifts not yet over, soonest first, with their staff member."""
    rows = await session.execute(select(OnCallShift, Staff).join(Staff, Staff.id == OnCallShift.staff_id)
                                 .where(OnCallShift.ends_at > now).order_by(OnCallShift.starts_at).limit(limit))
    return [(shift, staff) for shift, staff in rows.all()]


async def add_on_call(session: AsyncSession, staff_id: int, starts_at: datetime, ends_at: datetime) -> OnCallShift:
    if ends_at <= starts_at:
        raise ValueError("结束时间要晚于开始时间 / the shift must end after it starts")
    row = OnCallShift(staff_id=staff_id, starts_at=starts_at, ends_at=ends_at)
    session.add(row)
    await session.flush()
    return row


async def out_of_hours_pager(session: AsyncSession, village_id: int | None, now: datetime, *,
                             tiers: Tiers | None = None) -> list[DeskMember]:
    """Out of hours, an emergency pages the on-call shift, else the township's supervisors."""
    return await on_call_now(session, now) or await township_supervisors(session, village_id, tiers=tiers)


@dataclass(frozen=True)
class DeskRules:
    """The desk's settings (XIANGZHU_TIMEZONE and XIANGZHU_DESK_*), read from any settings
    object that has them."""

    tz: ZoneInfo = ZoneInfo("Asia/Shanghai")
    max_open: int = 5
    escalate_minutes: tuple[tuple[str, int], ...] = (("emergency", 2), ("urgent", 10), ("normal", 30))
    tell_villager_minutes: int = 60
    no_reply_minutes: int = 15

    @classmethod
    def from_settings(cls, settings) -> "DeskRules":
        d = cls()
        g = lambda name, default: getattr(settings, name, default)  # noqa: E731
        return cls(
            tz=ZoneInfo(g("timezone", "Asia/Shanghai")),
            max_open=int(g("desk_max_open", d.max_open)),
            escalate_minutes=(("emergency", int(g("desk_escalate_emergency_minutes", 2))),
                              ("urgent", int(g("desk_escalate_urgent_minutes", 10))),
                              ("normal", int(g("desk_escalate_normal_minutes", 30)))),
            tell_villager_minutes=int(g("desk_tell_villager_minutes", d.tell_villager_minutes)),
            no_reply_minutes=int(g("desk_no_reply_minutes", d.no_reply_minutes)),
        )

    def escalate_after(self, priority: str) -> int:
        return dict(self.escalate_minutes).get(priority, dict(self.escalate_minutes)["normal"])


def hours_of(staff: list[Staff]) -> dict:
    """The office hours to tell a villager: the first worker's own hours, else the default."""
    return next((s.on_duty for s in staff if s.on_duty and not s.on_duty.get("always")), None) or DEFAULT_DUTY


def next_on_duty(staff: list[Staff], now: datetime, tz: ZoneInfo) -> datetime | None:
    """The next moment (to the quarter hour, within a week) anyone of `staff` is on duty."""
    start = now.replace(second=0, microsecond=0)
    start += timedelta(minutes=(15 - start.minute % 15) % 15)
    for step in range(0, 7 * 24 * 4):
        t = start + timedelta(minutes=15 * step)
        if any(is_on_duty(s, t, tz) for s in staff):
            return t
    return None
