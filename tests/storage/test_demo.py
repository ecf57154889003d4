"""Demo seeding: what it creates, that seeding again changes nothing, and `xiangzhu seed`."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from argon2 import PasswordHasher
from sqlalchemy import func, select

from flows.store import BUILTIN_DIR, seed_builtin
from storage import policies, policy_overrides
from storage.demo import seed_content, seed_demo
from storage.models import Activity, Area, Base, PolicyOverride, Staff

TODAY = date(2026, 11, 23)
XIANGZHU = Path(sys.executable).with_name("xiangzhu")


async def _counts(s) -> dict[str, int]:
    return {t.name: await s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


async def test_seeding_twice_changes_nothing(db):
    async with db.session() as s:
        first = await seed_demo(s, TODAY, flows=seed_builtin)
    async with db.session() as s:
        after_first = await _counts(s)
        version = await policies.kb_version(s)
    assert len(first.created["policies"]) == 14
    assert after_first["areas"] == 5 and after_first["staff"] == 4 and after_first["activities"] == 6
    assert after_first["policy_versions"] == 14 and after_first["policy_overrides"] == 1
    assert after_first["staff_areas"] == 5
    # the built-in flows come along (the flow engine's seeder); a broken one is reported
    builtin = len(list(BUILTIN_DIR.glob("*.yaml")))
    assert after_first["flows"] == len(first.created.get("flows", []))
    assert after_first["flows"] == builtin or first.problems

    async with db.session() as s:
        second = await seed_demo(s, TODAY, flows=seed_builtin)
        third = await seed_content(s, flows=seed_builtin)
    assert second.nothing_created and third.nothing_created
    assert second.existing["policies"] == 14 and second.existing["activities"] == 6
    async with db.session() as s:
        assert await _counts(s) == after_first
        assert await policies.kb_version(s) == version


async def test_seeding_keeps_an_admins_edit(db):
    async with db.session() as s:
        await seed_demo(s, TODAY)
        edited = dict((await policy_overrides.resolve(s, "dibao", None, "zh")))
        await policies.publish_policy(s, "dibao", {"title": {"zh": "低保(管理员改过)", "en": "Dibao (edited)"}}, by="admin")
    async with db.session() as s:
        await seed_demo(s, TODAY)
    async with db.session() as s:
        current = await policies.get_policy(s, "dibao")
        assert (current.version, current.title["zh"]) == (2, "低保(管理员改过)")
    assert edited["version"] == 1


async def test_demo_areas_staff_and_activities(db):
    async with db.session() as s:
        await seed_demo(s, TODAY, tz="Asia/Shanghai")
    async with db.session() as s:
        areas = {a.code: a for a in await s.scalars(select(Area))}
        staff = {m.username: m for m in await s.scalars(select(Staff))}
        activities = list(await s.scalars(select(Activity).order_by(Activity.starts_at)))

    county, town = areas["qingshan"], areas["qingshan.shiqiao"]
    villages = [a for a in areas.values() if a.level == "village"]
    assert county.parent_id is None and town.parent_id == county.id
    assert len(villages) == 3 and all(v.parent_id == town.id and v.name_en and v.aliases for v in villages)

    hasher = PasswordHasher()
    for username, password, role in [
        ("admin", "demo-admin-2026", "admin"),
        ("liuzhan", "demo-supervisor-2026", "supervisor"),
        ("wangfang", "demo-worker-2026", "worker"),
        ("chenjie", "demo-worker-2026", "worker"),
    ]:
        member = staff[username]
        assert member.roles == [role] and member.active and member.on_duty["days"]
        assert member.password_hash.startswith("$argon2") and hasher.verify(member.password_hash, password)
    assert [a.code for a in staff["liuzhan"].areas] == ["qingshan.shiqiao"]
    worker_villages = [{a.code for a in staff[u].areas} for u in ("wangfang", "chenjie")]
    assert all(areas[c].level == "village" for vs in worker_villages for c in vs)
    assert not worker_villages[0] & worker_villages[1]  # different villages

    zone = ZoneInfo("Asia/Shanghai")
    start_of_today = datetime.combine(TODAY, datetime.min.time(), tzinfo=zone)
    assert len(activities) == 6
    for a in activities:
        assert start_of_today < a.starts_at < start_of_today + timedelta(weeks=3), a.title
        assert a.ends_at > a.starts_at and a.title_en and a.description and a.description_en and a.place
        assert a.kind in ("study_group", "activity", "training") and a.audience and a.aliases
    assert {"children", "elderly", "women", "training"} <= {t for a in activities for t in a.audience}
    assert min(a.capacity or 10**6 for a in activities) <= 3
    titles = " ".join(a.title for a in activities)
    for word in ("互助学习", "巧娘班", "广场舞", "互助组", "农业", "电商"):
        assert word in titles
    study = next(a for a in activities if a.kind == "study_group")
    assert "党群活动室" in study.place and study.audience == ["children"]
    assert study.starts_at.astimezone(zone).strftime("%H:%M") == "16:30"


async def test_the_demo_override_is_labelled_as_an_example(db):
    async with db.session() as s:
        await seed_demo(s, TODAY)
        row = await s.scalar(select(PolicyOverride))
        area = await s.get(Area, row.area_id)
    assert (row.policy_id, area.level, area.name) == ("dibao", "township", "石桥镇")
    assert row.effective_date == date(2026, 1, 1)
    assert "演示" in row.fields["what_you_get"]["zh"] and "2026" in row.fields["what_you_get"]["zh"]
    assert "Demo example" in row.fields["what_you_get"]["en"]


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANGZHU_")}
    env["XIANGZHU_DATABASE_URL"] = url
    return env


def test_cli_seed_demo_against_a_migrated_sqlite_database(tmp_path, migrated_sqlite):
    db_file = tmp_path / "demo.db"
    shutil.copyfile(migrated_sqlite, db_file)  # `xiangzhu db upgrade` itself: tests/bot/test_cli_db.py
    env = _env(f"sqlite+aiosqlite:///{db_file}")
    run = dict(cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

    first = subprocess.run([str(XIANGZHU), "seed", "--demo"], **run)
    assert first.returncode == 0, first.stderr
    assert "政策 / policies: 新建 14 / created 14" in first.stdout
    assert "admin / demo-admin-2026" in first.stdout
    assert "地区 / areas: 新建 5 / created 5" in first.stdout

    def counts():
        with sqlite3.connect(db_file) as conn:
            return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in Base.metadata.tables}

    seeded = counts()
    assert (seeded["policies"], seeded["areas"], seeded["staff"], seeded["activities"]) == (14, 5, 4, 6)
    assert seeded["kv"] >= 2  # hotlines and kb_version

    second = subprocess.run([str(XIANGZHU), "seed", "--demo"], **run)
    assert second.returncode == 0, second.stderr
    assert "Nothing new" in second.stdout and "created 0" in second.stdout
    assert counts() == seeded


def test_cli_seed_without_demo_adds_only_the_content(tmp_path, migrated_sqlite):
    db_file = tmp_path / "content.db"
    shutil.copyfile(migrated_sqlite, db_file)
    run = dict(cwd=tmp_path, env=_env(f"sqlite+aiosqlite:///{db_file}"), capture_output=True, text=True, timeout=120)
    out = subprocess.run([str(XIANGZHU), "seed"], **run)
    assert out.returncode == 0, out.stderr
    with sqlite3.connect(db_file) as conn:
        assert conn.execute("SELECT count(*) FROM policies").fetchone()[0] == 14
        assert conn.execute("SELECT count(*) FROM areas").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM staff").fetchone()[0] == 0
        assert conn.execute("SELECT value FROM kv WHERE key = 'hotlines'").fetchone()[0].count('"number"') == 7
