"""`xiangzhu chat` as a subprocess with piped stdin, against a migrated SQLite database."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))


def _run(args, env, stdin="", timeout=180):
    return subprocess.run([XIANGZHU, *args], input=stdin, capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=timeout, encoding="utf-8")


@pytest.fixture
def chat_env(tmp_path, migrated_sqlite):
    shutil.copyfile(migrated_sqlite, tmp_path / "chat.db")  # `xiangzhu db upgrade` is tests/bot/test_cli_db.py's
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/chat.db"}
    env.pop("XIANGZHU_CONFIG", None)
    return env, tmp_path / "chat.db"


@pytest.mark.slow
def test_chat_over_a_pipe_prints_numbered_choices_and_takes_a_number(chat_env):
    env, db = chat_env
    result = _run(["chat", "--sender", "tester", "--locale", "zh"], env, stdin="你好\n1\n   \n")
    assert result.returncode == 0, result.stderr
    replies = [block for block in result.stdout.split("乡助> ") if block.strip()]
    assert len(replies) == 3, result.stdout
    assert "回复数字：" in replies[0] and "\n1. " in replies[0]
    assert replies[1] != replies[0]  # the number picked a choice: the conversation moved on
    assert "没有收到文字" in replies[2]
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT channel, direction, text FROM messages WHERE direction='in' ORDER BY id").fetchall()
        ident = conn.execute("SELECT channel, external_id FROM channel_identities").fetchall()
    assert rows == [("console", "in", "你好"), ("console", "in", "1"), ("console", "in", "")]
    assert ident == [("console", "tester")]


@pytest.mark.slow
def test_chat_refuses_a_database_that_is_behind(tmp_path):
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/empty.db"}
    result = _run(["chat"], env, stdin="你好\n")
    assert result.returncode == 2
    assert "xiangzhu db upgrade" in result.stderr


@pytest.mark.slow
def test_chat_takes_a_buttons_payload_typed_as_text(chat_env):
    env, db = chat_env
    result = _run(["chat", "--sender", "echo", "--locale", "zh"], env, stdin="你好\nchoice:zh\nchoice:agree\n")
    assert result.returncode == 0, result.stderr
    replies = [block for block in result.stdout.split("乡助> ") if block.strip()]
    assert "您同意吗" in replies[1] and "谢谢" in "".join(replies[2:]), result.stdout
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT consent_given FROM people").fetchall() == [(1,)]
