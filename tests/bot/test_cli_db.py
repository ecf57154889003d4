"""`xiangzhu db …` and the settings file, through the real command."""
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.config import load_settings

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))


def run(*args, env=None, cwd=None):
    return subprocess.run([XIANGZHU, *args], env={**os.environ, **(env or {})}, cwd=cwd,
                          capture_output=True, text=True, timeout=180)


def test_upgrade_seed_and_online_backup(tmp_path):
    env = {"XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/live.db"}
    assert run("db", "upgrade", env=env).returncode == 0
    assert run("seed", "--demo", env=env).returncode == 0
    held = sqlite3.connect(tmp_path / "live.db")  # the bot keeps a connection open meanwhile
    held.execute("BEGIN")
    held.execute("SELECT count(*) FROM policies").fetchone()
    result = run("db", "backup", str(tmp_path / "copy" / "backup.db"), env=env)
    held.rollback()
    held.close()
    assert result.returncode == 0, result.stderr
    copy = sqlite3.connect(tmp_path / "copy" / "backup.db")
    assert copy.execute("SELECT count(*) FROM policies").fetchone()[0] == 14
    assert copy.execute("SELECT count(*) FROM areas").fetchone()[0] == 5
    copy.close()


def test_backup_on_postgresql_points_to_pg_dump(tmp_path):
    result = run("db", "backup", str(tmp_path / "b.db"),
                 env={"XIANGZHU_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/test"})
    assert result.returncode == 2 and "pg_dump" in result.stderr
    assert not (tmp_path / "b.db").exists()


def test_settings_file_and_environment(tmp_path, monkeypatch):
    config = tmp_path / "xiangzhu.toml"
    config.write_text('database_url = "sqlite+aiosqlite:///from-file.db"\nport = 9001\n', encoding="utf-8")
    monkeypatch.setenv("XIANGZHU_CONFIG", str(config))
    monkeypatch.delenv("XIANGZHU_DATABASE_URL", raising=False)
    monkeypatch.setenv("XIANGZHU_PORT", "9002")
    settings = load_settings()
    assert settings.database_url == "sqlite+aiosqlite:///from-file.db"
    assert settings.port == 9002  # the environment wins over the file
