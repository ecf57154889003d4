"""The `xiangzhu bench` group and `xiangzhu bench pipeline` (the NLU's `bench nlu` joins it)."""
from __future__ import annotations

import asyncio
import json
import os
import platform
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import click
import httpx
from sqlalchemy.engine import make_url

from bot.bench.ceiling import driver_ceilings
from bot.bench.open_loop import open_loop
from bot.bench.server import (
    RssSampler,
    count_inbound,
    cpu_seconds,
    free_port,
    fresh_database,
    migrate_and_seed,
    running_server,
    same_database,
)
from bot.bench.wrk import WEBHOOK, run_wrk
from bot.config import get_settings
from nlu.bench import bench_nlu


@click.group("bench")
def bench_group() -> None:
    """性能测试 / benchmarks (figures for README "Performance")."""


bench_group.add_command(bench_nlu, "nlu")


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
    if same_database(db_url, get_settings().database_url):
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
