"""`xiangzhu bench pipeline` end to end with tiny numbers: it starts a real server, drives it
with wrk (closed loop) or the open-loop driver, and reports every message persisted. No timing
assertions — the figures belong in docs/performance.md, not in a test.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from bot.bench import workload

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
        assert result["database_cpu_ms_per_message"] > 0  # the PostgreSQL backends serving the run
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


RUN_KEYS = {"rate", "messages_sent", "messages_ok", "errors", "refused", "messages_per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms",
            "server_cpu_ms_per_message", "database_cpu_ms_per_message", "generator_cpu_ms_per_message",
            "generator_cpu_share", "load_average_before", "load_average_after"}


@pytest.mark.slow
def test_realistic_open_loop_at_two_rates_stores_the_corpus_texts(tmp_path):
    db = tmp_path / "bench.db"
    result = bench(tmp_path, "--db", f"sqlite+aiosqlite:///{db}", "--rate", "20,40", "--messages", "40",
                   "--senders", "15", "--seed", "7", "--no-ceiling")
    assert result["mode"] == "open" and result["texts"] == "realistic" and result["seed"] == 7
    assert [run["rate"] for run in result["runs"]] == [20, 40]
    for run in result["runs"]:
        assert RUN_KEYS <= run.keys()
        assert run["messages_sent"] == run["messages_ok"] == 40 and run["errors"] == run["refused"] == 0
        assert run["server_cpu_ms_per_message"] > 0 and run["generator_cpu_ms_per_message"] > 0
        assert run["database_cpu_ms_per_message"] is None  # SQLite works inside the server's process
    assert result["all_persisted"] and result["persisted"] == 80 + 20
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT m.text, i.external_id FROM messages m JOIN channel_identities i"
                            " ON i.person_id = m.person_id WHERE m.direction = 'in' AND i.external_id LIKE '%-o-%'"
                            ).fetchall()
        answered = conn.execute("SELECT count(*) FROM messages WHERE direction = 'out'").fetchone()[0]
    texts, senders = {text for text, _ in rows}, {sender for _, sender in rows}
    assert len(rows) == 80 and answered >= 80  # every message stored, every one answered
    corpus, short = set(workload.corpus()), set(workload.SHORT_ANSWERS)
    assert texts <= corpus | short and texts & corpus and texts & short
    assert 5 < len(senders) <= 15
    assert len(texts) > 20  # drawn at random, not six texts in turn


def test_workload_is_seeded_and_fixed_texts_keep_the_old_round_robin():
    a, b = workload.Workload("realistic", 500, seed=3), workload.Workload("realistic", 500, seed=3)
    assert a.plan(200) == b.plan(200) != workload.Workload("realistic", 500, seed=4).plan(200)
    assert a.plan(100, 100) != a.plan(100)  # a later run (another rate) sends other messages
    fixed = workload.Workload("fixed", 5).plan(12)
    assert fixed[:7] == [(0, "你好"), (1, "帮助"), (2, "我想问问低保怎么申请"), (3, "谢谢"), (4, "1"), (0, "孩子上学有补助吗"),
                         (1, "你好")]


def test_refuses_to_wipe_the_configured_database(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/main.db"
    env = {**os.environ, "XIANGZHU_DATABASE_URL": url}
    proc = subprocess.run([XIANGZHU, "bench", "pipeline", "--db", url], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2 and "wipes it" in proc.stderr


def test_the_trivial_server_starts_from_the_standard_library_alone_and_a_failed_start_says_so(monkeypatch):
    """The ceiling's server is a file run with `python -I` (no package imports: importing the
    package took over 10 s on a loaded machine and the ceiling check timed out)."""
    import socket
    import urllib.request

    import click

    from bot.bench import ceiling

    with ceiling.trivial_server() as port:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/webhooks/rest/webhook", data=b'{"a": 1}')
        assert urllib.request.urlopen(request, timeout=30).read() == b"[]"
    with socket.socket() as taken:  # bound, not listening: the server cannot bind, exits, and the bench says so
        taken.bind(("127.0.0.1", 0))
        monkeypatch.setattr(ceiling, "free_port", lambda: taken.getsockname()[1])
        with pytest.raises(click.ClickException, match="exited"):
            with ceiling.trivial_server():
                pass
