"""`xiangzhu bench`: measured figures for README "Performance".

`xiangzhu bench pipeline --db URL` wipes and migrates (and seeds) the database at URL, starts
`xiangzhu serve` as a subprocess on a free port, and drives the REST channel over real HTTP:

* closed loop (default): `wrk` with one connection per sender; each sender sends its next
  message when the reply to its last one arrives (bot/bench_wrk.lua). Throughput and wrk's
  own latency distribution.
* open loop (`--rate R`): messages arrive at a steady R per second whatever the server does;
  latency is measured from each message's scheduled send time (no coordinated omission).
  The driver is an asyncio raw-socket HTTP/1.1 client (wrk2 is not in Debian).

The load generator must not be the bottleneck, so before the run each driver is pointed at a
trivial HTTP server (a subprocess that answers `[]`) and its ceiling is reported beside the
figures. The server's peak RSS (with any children) is sampled every 50 ms. After the run the
inbound rows in the database are counted: every message sent must be persisted.
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import click
import httpx
import psutil
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

from storage.db import is_sqlite, sync_url

WRK_SCRIPT = Path(__file__).with_name("bench_wrk.lua")
WEBHOOK = "/webhooks/rest/webhook"


# ── the group ────────────────────────────────────────────────────────────────────────────


class _BenchGroup(click.Group):
    """Adds the NLU engineer's `xiangzhu bench nlu` when nlu.bench is importable."""

    def _nlu(self):
        import importlib
        import importlib.util

        try:
            if importlib.util.find_spec("nlu.bench") is None:
                return None
        except ModuleNotFoundError:
            return None
        return getattr(importlib.import_module("nlu.bench"), "bench_nlu", None)

    def list_commands(self, ctx):
        names = set(super().list_commands(ctx))
        if "nlu" not in names and self._nlu() is not None:
            names.add("nlu")
        return sorted(names)

    def get_command(self, ctx, name):
        cmd = super().get_command(ctx, name)
        if cmd is None and name == "nlu":
            cmd = self._nlu()
            if cmd is not None:
                self.add_command(cmd, "nlu")
        return cmd


@click.group("bench", cls=_BenchGroup)
def bench_group() -> None:
    """性能测试 / benchmarks (figures for README "Performance")."""


# ── helpers: ports, database, server process ─────────────────────────────────────────────


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _same_database(a: str, b: str) -> bool:
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


def count_inbound(url: str) -> int:
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM messages WHERE direction = 'in'")).scalar_one()
    finally:
        engine.dispose()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "bot.cli", *args]


def migrate_and_seed(url: str, env: dict) -> None:
    from storage import migrate

    migrate.upgrade(url)
    import importlib.util

    if importlib.util.find_spec("storage.demo") is not None:
        subprocess.run(_cli("seed", "--demo"), env=env, check=True, capture_output=True, timeout=300)


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
        _cli("serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)),
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


@contextmanager
def trivial_server() -> Iterator[int]:
    """A subprocess that answers every HTTP/1.1 request with `[]` — the drivers' ceiling."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.bench", "--trivial-server", str(port)])
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise click.ClickException("the trivial server did not start")
                time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(5)


async def _serve_trivial(port: int) -> None:
    reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length:\s*(\d+)", head)
                if m:
                    await reader.readexactly(int(m.group(1)))
                writer.write(reply)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# ── closed loop: wrk ─────────────────────────────────────────────────────────────────────


def run_wrk(port: int, senders: int, messages: int, run_id: str, token: str = "") -> dict:
    """One wrk thread, `senders` connections, stop after `messages` answers."""
    if shutil.which("wrk") is None:
        raise click.ClickException("wrk is not installed: apt-get install -y wrk  (or: make chromium)")
    env = {
        **os.environ,
        "BENCH_SENDERS": str(senders),
        "BENCH_QUOTA": str(messages),
        "BENCH_RUN": run_id,
        "BENCH_TOKEN": token,
    }
    duration = max(60, messages // 20)  # an upper bound; the script stops at its quota
    proc = subprocess.Popen(
        ["wrk", "-t1", f"-c{senders}", f"-d{duration}s", "--timeout", "30s", "-s", str(WRK_SCRIPT),
         f"http://127.0.0.1:{port}{WEBHOOK}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    result = None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip())
        if line.startswith("BENCH_STOPPED"):
            proc.send_signal(signal.SIGINT)  # wrk sleeps out -d otherwise; SIGINT ends it now
        elif line.startswith("BENCH_JSON "):
            result = json.loads(line[len("BENCH_JSON "):])
    proc.wait()
    if result is None:
        raise click.ClickException("wrk gave no result:\n" + "\n".join(lines[-20:]))
    seconds = result["duration_us"] / 1e6
    return {
        "sent": result["sent"],
        "ok": result["ok"],
        "answered": result["answered"],
        "errors": sum(v for k, v in result["errors"].items() if k != "status") + result["answered"] - result["ok"],
        "error_detail": result["errors"],
        "seconds": seconds,
        "messages_per_s": result["ok"] / seconds if seconds else 0.0,
        "p50_ms": result["p50_us"] / 1000,
        "p95_ms": result["p95_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "max_ms": result["max_us"] / 1000,
    }


# ── open loop: asyncio raw-socket driver ─────────────────────────────────────────────────


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> "_Connection":
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def exchange(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
        if m is None:
            raise ValueError("response without content-length")
        body = await self.reader.readexactly(int(m.group(1)))
        return status, body

    def close(self) -> None:
        self.writer.close()


@dataclass
class OpenLoopResult:
    sent: int = 0
    ok: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def summary(self) -> dict:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "seconds": self.seconds,
            "messages_per_s": self.ok / self.seconds if self.seconds else 0.0,
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "p99_ms": self.percentile(99),
            "max_ms": max(self.latencies_ms, default=0.0),
        }


def _request_bytes(port: int, path: str, body: bytes, token: str) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def open_loop(port: int, rate: float, count: int, senders: int, run_id: str, token: str = "") -> OpenLoopResult:
    """Send `count` messages at a steady `rate`/s, round-robin over `senders`; latency of each
    is counted from its scheduled time, so a stalled server or driver shows up in it."""
    loop = asyncio.get_running_loop()
    idle: list[_Connection] = []
    result = OpenLoopResult()
    pending: set[asyncio.Task] = set()
    texts = ["你好", "帮助", "我想问问低保怎么申请", "谢谢", "1", "孩子上学有补助吗"]

    async def one(i: int, scheduled: float) -> None:
        body = json.dumps(
            {"sender": f"{run_id}-o-{i % senders}", "message": texts[i % len(texts)],
             "metadata": {"message_id": f"{run_id}-o-m{i}"}},
            ensure_ascii=False,
        ).encode()
        conn = None
        try:
            conn = idle.pop() if idle else await _Connection.open(port)
            status, _ = await conn.exchange(_request_bytes(port, WEBHOOK, body, token))
            result.latencies_ms.append((loop.time() - scheduled) * 1000)
            if status == 200:
                result.ok += 1
            else:
                result.errors += 1
            idle.append(conn)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            result.errors += 1
            if conn is not None:
                conn.close()

    start = loop.time() + 0.05
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        result.sent += 1
        task = loop.create_task(one(i, scheduled))
        pending.add(task)
        task.add_done_callback(pending.discard)
    if pending:
        await asyncio.gather(*pending)
    result.seconds = loop.time() - start
    for conn in idle:
        conn.close()
    return result


def driver_ceilings(senders: int, messages: int, rate: float | None) -> dict:
    """Each driver against the trivial server: how far past the target it can go."""
    with trivial_server() as port:
        if rate is None:
            r = run_wrk(port, senders, max(messages, 20000), f"ceil{uuid.uuid4().hex[:4]}")
            return {"driver_ceiling_per_s": round(r["messages_per_s"]), "driver_ceiling_p99_ms": round(r["p99_ms"], 2)}
        probe = max(2000.0, 10 * rate)
        r = asyncio.run(open_loop(port, probe, int(probe * 3), senders, "ceil")).summary()
        return {
            "driver_ceiling_per_s": round(r["messages_per_s"]),
            "driver_ceiling_p99_ms": round(r["p99_ms"], 2),
            "driver_ceiling_probe_rate": probe,
        }


# ── the pipeline benchmark ───────────────────────────────────────────────────────────────


def _warm_up(port: int, run_id: str, count: int, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as client:
        for i in range(count):
            r = client.post(WEBHOOK, json={"sender": f"{run_id}-warm-{i % 5}", "message": "你好",
                                           "metadata": {"message_id": f"{run_id}-warm-{i}"}})
            r.raise_for_status()
    return count


def _wait_persisted(url: str, expected: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while True:
        n = count_inbound(url)
        if n >= expected or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


@bench_group.command("pipeline")
@click.option("--db", "db_url", required=True, help="database to WIPE and use, e.g. sqlite+aiosqlite:///./data/bench.db "
              "or postgresql+asyncpg://postgres@127.0.0.1:5432/xz_bench")
@click.option("--senders", default=50, show_default=True, help="closed loop: concurrent senders (wrk connections)")
@click.option("--messages", default=5000, show_default=True, help="messages to send")
@click.option("--rate", type=float, default=None, help="open loop: steady arrival rate, messages per second")
@click.option("--workers", default=1, show_default=True, help="xiangzhu serve --workers (PostgreSQL)")
@click.option("--ceiling/--no-ceiling", default=True, show_default=True, help="measure the driver's own ceiling first")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option("--keep-log", type=click.Path(path_type=Path), default=None, help="write the server's log here")
def bench_pipeline(db_url: str, senders: int, messages: int, rate: float | None, workers: int, ceiling: bool,
                   as_json: bool, keep_log: Path | None) -> None:
    """Throughput (closed loop) or latency (open loop, --rate) of the REST pipeline.

    Starts `xiangzhu serve` against a fresh database at --db (wiped, migrated, seeded)."""
    from bot.config import get_settings

    if _same_database(db_url, get_settings().database_url):
        raise click.UsageError("--db is the configured XIANGZHU_DATABASE_URL; the benchmark wipes it. Use another database.")
    if senders < 1 or messages < 1 or (rate is not None and rate <= 0):
        raise click.UsageError("--senders, --messages and --rate must be positive")
    token = os.environ.get("XIANGZHU_REST_TOKEN", "")
    say = (lambda *_: None) if as_json else (lambda msg: click.echo(msg, err=True))

    ceil = {}
    if ceiling:
        say("measuring the load generator's ceiling against a trivial server …")
        ceil = driver_ceilings(senders, messages, rate)

    say(f"preparing a fresh database at {make_url(db_url).render_as_string(hide_password=True)} …")
    fresh_database(db_url)
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url, "XIANGZHU_LOG_LEVEL": os.environ.get("XIANGZHU_LOG_LEVEL", "WARNING")}
    migrate_and_seed(db_url, env)

    port = free_port()
    run_id = uuid.uuid4().hex[:6]
    log_path = keep_log or Path(os.environ.get("TMPDIR", "/tmp")) / f"xiangzhu-bench-{run_id}.log"
    say(f"starting xiangzhu serve on 127.0.0.1:{port} (log {log_path}) …")
    with running_server(env, port, log_path=log_path, workers=workers) as server, RssSampler(server.pid) as rss:
        warm = _warm_up(port, run_id, min(20, messages), token)
        cpu_before = cpu_seconds(server.pid)
        if rate is None:
            say(f"closed loop: {senders} senders, {messages} messages (wrk) …")
            figures = run_wrk(port, senders, messages, run_id, token)
            mode, driver = "closed", "wrk"
        else:
            say(f"open loop: {rate:g} messages/s, {messages} messages (asyncio driver) …")
            figures = asyncio.run(open_loop(port, rate, messages, senders, run_id, token)).summary()
            mode, driver = "open", "asyncio-raw-http"
        cpu_used = cpu_seconds(server.pid) - cpu_before
        expected = warm + figures["sent"]
        persisted = _wait_persisted(db_url, expected)
        peak, peak_process = rss.peak, rss.peak_process

    result = {
        "mode": mode,
        "database": make_url(db_url).get_backend_name(),
        "senders": senders,
        "rate": rate,
        "messages_sent": figures["sent"],
        "messages_ok": figures["ok"],
        "errors": figures["errors"],
        "seconds": round(figures["seconds"], 3),
        "messages_per_s": round(figures["messages_per_s"], 1),
        "p50_ms": round(figures["p50_ms"], 2),
        "p95_ms": round(figures["p95_ms"], 2),
        "p99_ms": round(figures["p99_ms"], 2),
        "max_ms": round(figures["max_ms"], 2),
        "workers": workers,
        "peak_rss_mb": round(peak / 2**20, 1),
        "peak_process_rss_mb": round(peak_process / 2**20, 1),
        "server_cpu_ms_per_message": round(1000 * cpu_used / figures["ok"], 2) if figures["ok"] else None,
        "persisted": persisted,
        "expected_persisted": expected,
        "all_persisted": persisted == expected,
        "driver": driver,
        **ceil,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "date": datetime.now(timezone.utc).date().isoformat(),
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        click.echo(
            f"{mode} loop on {result['database']}: {result['messages_per_s']} messages/s, "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
            f"peak RSS {result['peak_rss_mb']} MB"
            + (f" ({workers} workers, largest {result['peak_process_rss_mb']} MB)" if workers > 1 else "")
            + f"; server CPU {result['server_cpu_ms_per_message']} ms per message\n"
            f"sent {result['messages_sent']}, answered 200 {result['messages_ok']}, errors {result['errors']}; "
            f"persisted {persisted}/{expected} inbound (incl. {warm} warm-up)"
            + (f"\nload generator ceiling ({driver} vs a trivial server): {ceil['driver_ceiling_per_s']} req/s, "
               f"p99 {ceil['driver_ceiling_p99_ms']} ms" if ceil else "")
        )
    if not result["all_persisted"]:
        raise SystemExit(1)


if __name__ == "__main__":  # the trivial server: python -m bot.bench --trivial-server PORT
    if len(sys.argv) == 3 and sys.argv[1] == "--trivial-server":
        asyncio.run(_serve_trivial(int(sys.argv[2])))
