"""The server under test: a fresh database, `xiangzhu serve` as a subprocess, its RSS and CPU."""
from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click
import httpx
import psutil
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

from storage.db import is_sqlite, sync_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def same_database(a: str, b: str) -> bool:
    try:
        ua, ub = make_url(sync_url(a)), make_url(sync_url(b))
    except Exception:
        return False
    if ua.get_backend_name() != ub.get_backend_name():
        return False
    if ua.get_backend_name() == "sqlite":
        return bool(ua.database) and Path(ua.database).resolve() == Path(ub.database or "").resolve()
    return (ua.host, ua.port or 5432, ua.database) == (ub.host, ub.port or 5432, ub.database)


def fresh_database(url: str) -> None:
    """Empty the database at URL: delete the SQLite file, or drop and create the PostgreSQL
    database (through the server's `postgres` database)."""
    u = make_url(url)
    if is_sqlite(url):
        if not u.database or u.database == ":memory:":
            raise click.UsageError("--db needs a SQLite file, not an in-memory database")
        for suffix in ("", "-wal", "-shm", ".leader"):
            Path(u.database + suffix).unlink(missing_ok=True)
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    name = u.database or ""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise click.UsageError(f"database name {name!r}: use letters, digits and _ only")
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_exists(url: str) -> bool:
    """Whether the PostgreSQL database at URL exists (asked of the server's `postgres` database)."""
    import psycopg

    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,)).fetchone() is not None


def count_inbound(url: str) -> int:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'in'")).scalar_one()
    finally:
        engine.dispose()


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def migrate_and_seed(url: str, env: dict) -> None:
    from storage import migrate

    migrate.upgrade(url)
    subprocess.run(cli_command("seed", "--demo"), env=env, check=True, capture_output=True, timeout=300)


class RssSampler:
    """Samples the RSS of a process and its children every `interval` seconds; keeps the peak
    of the sum (`peak`) and of the largest single process (`peak_process`)."""

    def __init__(self, pid: int, interval: float = 0.05):
        self.pid, self.interval, self.peak, self.peak_process = pid, interval, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            proc = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                each = [proc.memory_info().rss]
                for child in proc.children(recursive=True):
                    try:
                        each.append(child.memory_info().rss)
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, sum(each))
                self.peak_process = max(self.peak_process, max(each))
            except psutil.Error:
                return
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its living children."""
    proc = psutil.Process(pid)
    total = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:
            pass
    return total


@contextmanager
def running_server(env: dict, port: int, *, log_path: Path, ready_timeout: float = 120,
                   workers: int = 1) -> Iterator[subprocess.Popen]:
    """`xiangzhu serve` on 127.0.0.1:port until the block ends (SIGTERM, then SIGKILL)."""
    log = open(log_path, "w")
    proc = subprocess.Popen(
        cli_command("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + ready_timeout
        while True:
            if proc.poll() is not None:
                raise click.ClickException(f"xiangzhu serve exited with {proc.returncode}; see {log_path}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise click.ClickException(f"xiangzhu serve not ready after {ready_timeout:.0f}s; see {log_path}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()


def database_cpu(url: str) -> dict[int, float] | None:
    """CPU seconds (user + system) of each PostgreSQL backend process serving the database at
    URL, read from /proc (`postgres: … user dbname host(port) state`); None for SQLite, whose
    work is done inside the server's own process. A backend that exits during a run takes its
    time with it, so the pool's long-lived connections are what this counts."""
    if is_sqlite(url):
        return None
    name = make_url(url).database or ""
    out = {}
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or ())
            if cmd.startswith("postgres:") and f" {name} " in f"{cmd} ":
                out[proc.pid] = sum(proc.cpu_times()[:2])
        except psutil.Error:
            continue
    return out


def database_cpu_used(before: dict[int, float] | None, after: dict[int, float] | None) -> float | None:
    if before is None or after is None:
        return None
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())
