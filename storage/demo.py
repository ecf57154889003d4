"""Seeding: the content every installation needs, and the demo data.

`seed_content` — the 14 national policies, the emergency hotlines and, when the caller passes
the flow engine's seeder (`flows.store.seed_builtin`), the built-in flows. `seed_demo` — that, plus one
county with a township and three villages, four staff accounts, six activities in the
coming weeks and a township-level dibao override. Both are idempotent: rows are looked up
by their natural keys (policy id, area code, username, activity title + start date, the
(policy, area) pair of an override) and only what is absent is created, so seeding twice
changes nothing and admin edits are never overwritten.

`xiangzhu seed` (bot/seed.py) runs `seed_content`; `xiangzhu seed --demo` runs `seed_demo`.
The caller owns the transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.agencies import seed_demo_agencies
from storage import policies, policy_overrides
from storage.models import Activity, Area, Flow, KeyValue, Policy, PolicyOverride, Staff
from storage.policy_checks import PolicyDataError, policy_problems

__all__ = ["DATA_DIR", "FlowSeeder", "SeedReport", "load_data", "seed_content", "seed_demo"]

DATA_DIR = Path(__file__).parent / "demo_data"
SEED_BY = "seed"

# the flow engine's `seed_builtin(session)`: the ids it seeded; raises an error with `.errors`
# (every problem) when some built-in flows do not validate
FlowSeeder = Callable[[AsyncSession], Awaitable[list[str]]]


@dataclass
class SeedReport:
    """What one seeding created (names), and how many of each kind were already there."""

    created: dict[str, list[str]] = field(default_factory=dict)
    existing: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # e.g. a built-in flow that does not validate

    def add(self, kind: str, name: str) -> None:
        self.created.setdefault(kind, []).append(name)

    def keep(self, kind: str) -> None:
        self.existing[kind] = self.existing.get(kind, 0) + 1

    @property
    def nothing_created(self) -> bool:
        return not any(self.created.values())


def load_data(name: str) -> Any:
    """One YAML file of `storage/demo_data/` (e.g. "policies")."""
    with open(DATA_DIR / f"{name}.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def builtin_policies() -> list[dict[str, Any]]:
    """The built-in policy records; raises PolicyDataError when one is incomplete."""
    records = load_data("policies")["policies"]
    for rec in records:
        fields = {k: v for k, v in rec.items() if k != "id"}
        problems = policy_problems(fields, complete=True)
        if problems:
            raise PolicyDataError(f"{DATA_DIR / 'policies.yaml'}: policy {rec.get('id')}", problems)
    return records


# ── content every installation needs ─────────────────────────────────────────────────────


async def seed_content(session: AsyncSession, report: SeedReport | None = None, *,
                       flows: FlowSeeder | None = None) -> SeedReport:
    """Publish the built-in policies that are absent, store the hotlines when none are set,
    and seed the built-in flows with `flows` when given."""
    report = report or SeedReport()
    for rec in builtin_policies():
        pid = rec["id"]
        if await session.get(Policy, pid) is not None:
            report.keep("policies")
            continue
        await policies.publish_policy(session, pid, {k: v for k, v in rec.items() if k != "id"}, by=SEED_BY)
        report.add("policies", pid)

    if await session.get(KeyValue, policies.HOTLINES_KEY) is None:
        hotlines = load_data("hotlines")["hotlines"]
        await policies.set_hotlines(session, hotlines)
        report.add("hotlines", " ".join(str(h["number"]) for h in hotlines))
    else:
        report.keep("hotlines")

    if flows is not None:
        await _seed_builtin_flows(session, flows, report)
    return report


async def _seed_builtin_flows(session: AsyncSession, seed_builtin: FlowSeeder, report: SeedReport) -> None:
    """A built-in flow that does not validate is reported as a problem and the others are
    kept: the policies and the demo do not depend on it (`xiangzhu flows validate` is where
    such a flow gets fixed)."""
    before = set(await session.scalars(select(Flow.id)))
    try:
        await seed_builtin(session)
    except Exception as exc:
        errors = getattr(exc, "errors", None)
        if errors is None:  # not a validation report: a real failure
            raise
        report.problems.extend(str(e) for e in errors)
    await session.flush()
    for flow_id in sorted(set(await session.scalars(select(Flow.id))) - before):
        report.add("flows", flow_id)
    if before:
        report.existing["flows"] = len(before)


# ── demo data ────────────────────────────────────────────────────────────────────────────


async def seed_demo(session: AsyncSession, today: date, *, tz: str = "Asia/Shanghai",
                    flows: FlowSeeder | None = None) -> SeedReport:
    """Seed the content (with the built-in flows when `flows` is given) and the demo data.
    Activities are dated relative to `today` in the local time zone `tz`."""
    report = SeedReport()
    await seed_content(session, report, flows=flows)
    areas = await _seed_areas(session, report)
    await _seed_staff(session, areas, report)
    await _seed_activities(session, areas, today, ZoneInfo(tz), report)
    await _seed_overrides(session, areas, report)
    if await seed_demo_agencies(session):
        report.add("agencies", "民政 残联 医保 人社 便民服务中心 NGO")
    else:
        report.keep("agencies")
    await session.flush()
    return report


async def _seed_areas(session: AsyncSession, report: SeedReport) -> dict[str, Area]:
    by_code: dict[str, Area] = {}
    for rec in load_data("areas")["areas"]:
        area = await session.scalar(select(Area).where(Area.code == rec["code"]))
        if area is None:
            parent = by_code.get(rec["parent"]) if rec.get("parent") else None
            if rec.get("parent") and parent is None:
                raise ValueError(f"areas.yaml: {rec['code']}: parent {rec['parent']!r} must come before it")
            area = Area(
                code=rec["code"],
                name=rec["name"],
                name_en=rec.get("name_en", ""),
                level=rec["level"],
                parent_id=parent.id if parent else None,
                aliases=list(rec.get("aliases", [])),
                latitude=rec.get("latitude"),
                longitude=rec.get("longitude"),
            )
            session.add(area)
            await session.flush()
            report.add("areas", f"{area.name} {area.name_en}")
        else:
            report.keep("areas")
        by_code[rec["code"]] = area
    return by_code


async def _seed_staff(session: AsyncSession, areas: dict[str, Area], report: SeedReport) -> None:
    from argon2 import PasswordHasher

    hasher = PasswordHasher()
    for rec in load_data("staff")["staff"]:
        if await session.scalar(select(Staff.id).where(Staff.username == rec["username"])) is not None:
            report.keep("staff")
            continue
        session.add(
            Staff(
                username=rec["username"],
                display_name=rec.get("display_name", ""),
                password_hash=hasher.hash(rec["password"]),
                roles=list(rec["roles"]),
                on_duty=dict(rec.get("on_duty") or {}),
                areas=[areas[code] for code in rec.get("areas", [])],
            )
        )
        await session.flush()
        report.add("staff", f"{rec['username']} / {rec['password']} ({', '.join(rec['roles'])})")


def _local(day: date, hhmm: str, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=zone)


async def _seed_activities(
    session: AsyncSession, areas: dict[str, Area], today: date, zone: ZoneInfo, report: SeedReport
) -> None:
    for rec in load_data("activities")["activities"]:
        day = today + timedelta(days=int(rec["day_offset"]))
        starts = _local(day, rec["start"], zone)
        # natural key: title + local start date
        window = (_local(day, "00:00", zone), _local(day + timedelta(days=1), "00:00", zone))
        found = await session.scalar(
            select(Activity.id).where(
                Activity.title == rec["title"], Activity.starts_at >= window[0], Activity.starts_at < window[1]
            )
        )
        if found is not None:
            report.keep("activities")
            continue
        area = areas.get(rec.get("area", ""))
        session.add(
            Activity(
                kind=rec["kind"],
                title=rec["title"],
                title_en=rec.get("title_en", ""),
                description=rec.get("description", ""),
                description_en=rec.get("description_en", ""),
                place=rec.get("place", ""),
                starts_at=starts,
                ends_at=_local(day, rec["end"], zone) if rec.get("end") else None,
                capacity=rec.get("capacity"),
                audience=list(rec.get("audience", [])),
                organizer=rec.get("organizer", ""),
                area_id=area.id if area else None,
                aliases=list(rec.get("aliases", [])),
            )
        )
        await session.flush()
        cap = rec.get("capacity")
        report.add("activities", f"{day.isoformat()} {rec['start']} {rec['title']}" + (f" (名额 / seats {cap})" if cap else ""))


async def _seed_overrides(session: AsyncSession, areas: dict[str, Area], report: SeedReport) -> None:
    for rec in load_data("overrides")["overrides"]:
        area = areas[rec["area"]]
        exists = await session.scalar(
            select(PolicyOverride.id).where(
                PolicyOverride.policy_id == rec["policy"], PolicyOverride.area_id == area.id
            )
        )
        if exists is not None:
            report.keep("overrides")
            continue
        await policy_overrides.set_override(session, rec["policy"], area.id, rec["fields"], rec.get("effective_date"))
        report.add("overrides", f"{rec['policy']} @ {area.name} {area.name_en}")
