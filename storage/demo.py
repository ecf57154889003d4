"""Seeding: the content every installation needs, and the demo data.

`seed_content` — the 14 national policies, the emergency hotlines and (when the flow engine
provides `storage.flow_store.seed_builtin`) the built-in flows. `seed_demo` — that, plus one
county with a township and three villages, four staff accounts, six activities in the
coming weeks and a township-level dibao override. Both are idempotent: rows are looked up
by their natural keys (policy id, area code, username, activity title + start date, the
(policy, area) pair of an override) and only what is absent is created, so seeding twice
changes nothing and admin edits are never overwritten.

`xiangzhu seed` runs `seed_content`; `xiangzhu seed --demo` runs `seed_demo`. The caller
owns the transaction.
"""
from __future__ import annotations

import asyncio
import importlib
import inspect
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import click
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import policies
from storage.models import Activity, Area, KeyValue, Policy, PolicyOverride, Staff

__all__ = ["DATA_DIR", "SeedReport", "load_data", "seed_command", "seed_content", "seed_demo"]

DATA_DIR = Path(__file__).parent / "demo_data"
SEED_BY = "seed"


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
        problems = policies.policy_problems(fields, complete=True)
        if problems:
            raise policies.PolicyDataError(f"{DATA_DIR / 'policies.yaml'}: policy {rec.get('id')}", problems)
    return records


# ── content every installation needs ─────────────────────────────────────────────────────


async def seed_content(session: AsyncSession, report: SeedReport | None = None) -> SeedReport:
    """Publish the built-in policies that are absent, store the hotlines when none are set,
    and seed the built-in flows when the flow store offers it."""
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

    await _seed_builtin_flows(session, report)
    return report


async def _seed_builtin_flows(session: AsyncSession, report: SeedReport) -> None:
    """Calls `storage.flow_store.seed_builtin(session)` (owned by the flow engine) if it
    exists. A built-in flow that does not validate is reported as a problem and the others
    are kept: the policies and the demo do not depend on it (`xiangzhu flows validate` is
    where such a flow gets fixed)."""
    try:
        module = importlib.import_module("storage.flow_store")
    except ImportError:
        return
    seed_builtin = getattr(module, "seed_builtin", None)
    if seed_builtin is None:
        return
    from storage.models import Flow

    before = set(await session.scalars(select(Flow.id)))
    try:
        result = seed_builtin(session)
        if inspect.isawaitable(result):
            await result
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


async def seed_demo(session: AsyncSession, today: date, *, tz: str = "Asia/Shanghai") -> SeedReport:
    """Seed the content and the demo data. Activities are dated relative to `today` in the
    local time zone `tz`."""
    report = SeedReport()
    await seed_content(session, report)
    areas = await _seed_areas(session, report)
    await _seed_staff(session, areas, report)
    await _seed_activities(session, areas, today, ZoneInfo(tz), report)
    await _seed_overrides(session, areas, report)
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
        await policies.set_override(session, rec["policy"], area.id, rec["fields"], rec.get("effective_date"))
        report.add("overrides", f"{rec['policy']} @ {area.name} {area.name_en}")


# ── command ──────────────────────────────────────────────────────────────────────────────

_KIND_LABELS = {
    "policies": "政策 / policies",
    "hotlines": "热线 / hotlines",
    "flows": "对话流程 / flows",
    "areas": "地区 / areas",
    "staff": "工作人员 / staff (用户名 / 密码 username / password)",
    "activities": "活动 / activities",
    "overrides": "地方规定 / local overrides",
}


def _print_report(report: SeedReport) -> None:
    if report.nothing_created:
        click.echo("没有新建任何数据,都已存在。 / Nothing new: everything was already there.")
    for kind, label in _KIND_LABELS.items():
        names = report.created.get(kind, [])
        kept = report.existing.get(kind, 0)
        if not names and not kept:
            continue
        click.echo(f"{label}: 新建 {len(names)} / created {len(names)}, 已有 {kept} / existing {kept}")
        for name in names:
            click.echo(f"  + {name}")
    for problem in report.problems:
        click.echo(f"警告 / warning: {problem}", err=True)


async def _run(url: str, demo: bool, today: date, tz: str) -> SeedReport:
    from storage.db import Database

    db = Database(url)
    try:
        async with db.session() as session:
            if demo:
                return await seed_demo(session, today, tz=tz)
            return await seed_content(session)
    finally:
        await db.dispose()


@click.command("seed")
@click.option("--demo", is_flag=True, help="也写入演示用的地区、工作人员、活动 / also add the demo areas, staff and activities")
def seed_command(demo: bool) -> None:
    """写入政策库和热线(--demo:再加演示数据)。可重复运行。
    Seed the policy knowledge base and hotlines (--demo: plus demo data). Safe to repeat."""
    from bot.config import get_settings

    settings = get_settings()
    zone = ZoneInfo(settings.timezone)
    today = datetime.now(zone).date()
    report = asyncio.run(_run(settings.database_url, demo, today, settings.timezone))
    _print_report(report)
