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


def replay(tmp_path: Path, *args: str) -> dict:
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/main.db",
           "XIANGZHU_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.run([XIANGZHU, "bench", "replay", "--db", str(tmp_path / "seeded.db"), *args], env=env,
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
