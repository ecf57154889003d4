"""`xiangzhu bench replay` end to end with tiny numbers: it seeds a SQLite file, replays the
realistic mix in process at a fixed clock on a copy, and two runs of one tree agree on every
reply and row (what an A/B of two trees relies on). No timing assertions."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.bench.replay import table_digests

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))


def replay(tmp_path: Path, *args: str, db: str = "") -> dict:
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/main.db",
           "XIANGZHU_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([XIANGZHU, "bench", "replay", "--db", db or str(tmp_path / "seeded.db"), *args], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_two_replays_of_one_tree_write_the_same_replies_and_rows(tmp_path):
    args = ("--messages", "25", "--warm", "5", "--local-time", "2026-12-08 21:00")
    first = replay(tmp_path, *args)  # seeds seeded.db first
    seeded = table_digests(tmp_path / "seeded.db")
    second = replay(tmp_path, *args)
    assert table_digests(tmp_path / "seeded.db") == seeded  # replayed on a copy
    assert first["messages"] == 25 and first["cpu_ms_per_message"] > 0
    assert first["start"] == "2026-12-08T21:00:00+08:00"
    assert (first["replies_sha256"], first["rows_sha256"]) == (second["replies_sha256"], second["rows_sha256"])
    # the 30 messages and their replies were written to the copy
    assert first["tables"]["messages"] != seeded["messages"] and first["tables"]["outbox"] != seeded["outbox"]


@pytest.mark.slow
@pytest.mark.parametrize("empty_db_url", ["postgres"], indirect=True)
def test_a_replay_on_postgresql_seeds_the_database_and_replays_on_a_copy(tmp_path, empty_db_url):
    """`--db` a PostgreSQL URL: the database is seeded when missing, each run replays on a
    copy (CREATE DATABASE … TEMPLATE) that is dropped after, and two runs agree."""
    import psycopg
    from sqlalchemy.engine import make_url

    from bot.bench.replay import pg_table_digests

    u = make_url(empty_db_url)
    name = f"{u.database}_seeded"
    seeded = u.set(drivername="postgresql", database=name).render_as_string(hide_password=False)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    args = ("--messages", "20", "--warm", "5")
    try:
        first = replay(tmp_path, *args, db=seeded)
        before = pg_table_digests(seeded)
        second = replay(tmp_path, *args, db=seeded)
        assert pg_table_digests(seeded) == before  # replayed on a copy
        assert (first["replies_sha256"], first["rows_sha256"]) == (second["replies_sha256"], second["rows_sha256"])
        assert first["tables"]["messages"] != before["messages"]
        with psycopg.connect(admin, autocommit=True) as conn:
            copies = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_replay%",)).fetchall()
        assert copies == []
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
