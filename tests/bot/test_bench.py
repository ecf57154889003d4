"""`xiangzhu bench pipeline` end to end with tiny numbers: it starts a real server, drives it
with wrk (closed loop) or the open-loop driver, and reports every message persisted. No timing
assertions — the figures belong in docs/performance.md, not in a test.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.support import PG_ADMIN_DSN

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
KEYS = {"messages_per_s", "p50_ms", "p95_ms", "p99_ms", "peak_rss_mb"}


@pytest.fixture(autouse=True)
def _wrk():
    if shutil.which("wrk") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("wrk is not installed (make chromium installs it)")
        pytest.skip("wrk is not installed")


def bench(tmp_path: Path, *args: str) -> dict:
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/main.db",
           "XIANGZHU_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([XIANGZHU, "bench", "pipeline", "--json", *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_closed_loop_on_sqlite_persists_every_message(tmp_path):
    result = bench(tmp_path, "--db", f"sqlite+aiosqlite:///{tmp_path}/bench.db", "--senders", "5", "--messages", "50")
    assert KEYS <= result.keys()
    assert result["mode"] == "closed" and result["database"] == "sqlite"
    assert result["messages_ok"] >= 50 and result["errors"] == 0
    assert result["all_persisted"] and result["persisted"] == result["expected_persisted"]
    assert result["driver_ceiling_per_s"] > 0  # measured against the trivial server
    assert result["peak_rss_mb"] > 0


@pytest.mark.slow
def test_open_loop_on_postgres_persists_every_message(tmp_path):
    name = f"xz_bench_{uuid.uuid4().hex[:10]}"
    url = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://") + "/" + name
    try:
        result = bench(tmp_path, "--db", url, "--rate", "50", "--messages", "50", "--senders", "5", "--no-ceiling")
        assert KEYS <= result.keys()
        assert result["mode"] == "open" and result["database"] == "postgresql"
        assert result["messages_sent"] == 50 and result["messages_ok"] == 50
        assert result["all_persisted"] and result["persisted"] == 50 + 20  # and the 20 warm-up messages
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_refuses_to_wipe_the_configured_database(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/main.db"
    env = {**os.environ, "XIANGZHU_DATABASE_URL": url}
    proc = subprocess.run([XIANGZHU, "bench", "pipeline", "--db", url], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "wipes it" in proc.stderr
