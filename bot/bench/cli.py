"""The `xiangzhu bench` group and `xiangzhu bench pipeline` (the NLU's `bench nlu` joins it)."""
from __future__ import annotations

import asyncio
import json
import os
import platform
import resource
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
    database_cpu,
    database_cpu_used,
    database_exists,
    free_port,
    fresh_database,
    migrate_and_seed,
    running_server,
    same_database,
)
from bot.bench.workload import Workload
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


def _rates(value: str | None) -> list[float]:
    if not value:
        return []
    try:
        rates = [float(part) for part in value.split(",") if part.strip()]
    except ValueError:
        raise click.BadParameter("rates are numbers, e.g. 100,300") from None
    if not rates or any(r <= 0 for r in rates):
        raise click.BadParameter("rates must be positive")
    return rates


def _open_run(port: int, rate: float, workload: Workload, count: int, first: int, run_id: str, token: str,
              server_pid: int, db_url: str) -> dict:
    """One open-loop run at `rate`, with the CPU every party spent on it."""
    plan = workload.plan(count, first)
    load_before = os.getloadavg()
    cpu_before, db_before = cpu_seconds(server_pid), database_cpu(db_url)
    gen_before = resource.getrusage(resource.RUSAGE_SELF)
    figures = asyncio.run(open_loop(port, rate, plan, run_id, token, first=first)).summary()
    gen_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_used = cpu_seconds(server_pid) - cpu_before
    db_used = database_cpu_used(db_before, database_cpu(db_url))
    load_after = os.getloadavg()
    ok = figures["ok"]
    generator = (gen_after.ru_utime - gen_before.ru_utime) + (gen_after.ru_stime - gen_before.ru_stime)
    return {
        **_figures(figures, rate),
        "server_cpu_ms_per_message": round(1000 * cpu_used / ok, 3) if ok else None,
        "database_cpu_ms_per_message": round(1000 * db_used / ok, 3) if ok and db_used is not None else None,
        "generator_cpu_ms_per_message": round(1000 * generator / figures["sent"], 3) if figures["sent"] else None,
        "generator_cpu_share": round(generator / figures["seconds"], 3) if figures["seconds"] else None,
        "load_average_before": round(load_before[0], 2),
        "load_average_after": round(load_after[0], 2),
    }


def _figures(figures: dict, rate: float | None) -> dict:
    return {
        "rate": rate,
        "messages_sent": figures["sent"],
        "messages_ok": figures["ok"],
        "errors": figures["errors"],
        "refused": figures.get("refused", 0),
        "seconds": round(figures["seconds"], 3),
        "messages_per_s": round(figures["messages_per_s"], 1),
        "p50_ms": round(figures["p50_ms"], 2),
        "p95_ms": round(figures["p95_ms"], 2),
        "p99_ms": round(figures["p99_ms"], 2),
        "max_ms": round(figures["max_ms"], 2),
        **({"ok_p99_ms": round(figures["ok_p99_ms"], 2), "ok_max_ms": round(figures["ok_max_ms"], 2)}
           if "ok_p99_ms" in figures else {}),
    }


@bench_group.command("pipeline")
@click.option("--db", "db_url", required=True, help="database to WIPE and use, e.g. sqlite+aiosqlite:///./data/bench.db "
              "or postgresql+asyncpg://postgres@127.0.0.1:5432/xz_bench")
@click.option("--senders", type=int, default=None,
              help="senders: closed loop 50 (wrk connections), open loop 500  [default: by mode]")
@click.option("--messages", default=5000, show_default=True, help="messages to send (per rate in the open loop)")
@click.option("--rate", "rates", default=None, metavar="R[,R…]",
              help="open loop: steady arrival rates, messages per second, run one after the other (100,300)")
@click.option("--texts", type=click.Choice(["realistic", "fixed"]), default="realistic", show_default=True,
              help="open loop: texts from the NLU test split and short answers, or the six fixed texts")
@click.option("--seed", default=1, show_default=True, help="open loop: seed of the realistic workload")
@click.option("--workers", default=1, show_default=True, help="xiangzhu serve --workers (PostgreSQL)")
@click.option("--ceiling/--no-ceiling", default=True, show_default=True, help="measure the driver's own ceiling first")
@click.option("--json", "as_json", is_flag=True, help="print one JSON object")
@click.option("--keep-log", type=click.Path(path_type=Path), default=None, help="write the server's log here")
def bench_pipeline(db_url: str, senders: int | None, messages: int, rates: str | None, texts: str, seed: int,
                   workers: int, ceiling: bool, as_json: bool, keep_log: Path | None) -> None:
    """Throughput (closed loop) or latency (open loop, --rate) of the REST pipeline.

    Starts `xiangzhu serve` against a fresh database at --db (wiped, migrated, seeded)."""
    if same_database(db_url, get_settings().database_url):
        raise click.UsageError("--db is the configured XIANGZHU_DATABASE_URL; the benchmark wipes it. Use another database.")
    rate_list = _rates(rates)
    if senders is None:
        senders = 500 if rate_list else 50
    if senders < 1 or messages < 1:
        raise click.UsageError("--senders and --messages must be positive")
    token = os.environ.get("XIANGZHU_REST_TOKEN", "")
    say = (lambda *_: None) if as_json else (lambda msg: click.echo(msg, err=True))
    workload = Workload(texts, senders, seed) if rate_list else None

    ceil = {}
    if ceiling:
        say("measuring the load generator's ceiling against a trivial server …")
        ceil = driver_ceilings(senders, messages, max(rate_list) if rate_list else None)

    say(f"preparing a fresh database at {make_url(db_url).render_as_string(hide_password=True)} …")
    fresh_database(db_url)
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url, "XIANGZHU_LOG_LEVEL": os.environ.get("XIANGZHU_LOG_LEVEL", "WARNING")}
    migrate_and_seed(db_url, env)

    port = free_port()
    run_id = uuid.uuid4().hex[:6]
    log_path = keep_log or Path(os.environ.get("TMPDIR", "/tmp")) / f"xiangzhu-bench-{run_id}.log"
    say(f"starting xiangzhu serve on 127.0.0.1:{port} (log {log_path}) …")
    runs: list[dict] = []
    with running_server(env, port, log_path=log_path, workers=workers) as server, RssSampler(server.pid) as rss:
        warm = _warm_up(port, run_id, min(20, messages), token)
        sent = 0
        if not rate_list:
            say(f"closed loop: {senders} senders, {messages} messages (wrk) …")
            cpu_before = cpu_seconds(server.pid)
            figures = run_wrk(port, senders, messages, run_id, token)
            cpu_used = cpu_seconds(server.pid) - cpu_before
            runs.append({**_figures(figures, None), "server_cpu_ms_per_message":
                         round(1000 * cpu_used / figures["ok"], 3) if figures["ok"] else None})
            sent = figures["sent"]
            mode, driver = "closed", "wrk"
        else:
            for rate in rate_list:
                say(f"open loop: {rate:g} messages/s, {messages} messages, {senders} senders, {texts} texts …")
                runs.append(_open_run(port, rate, workload, messages, sent, run_id, token, server.pid, db_url))
                sent += runs[-1]["messages_sent"]
            mode, driver = "open", "asyncio-raw-http"
        # a message answered 503 was not taken (REST contract): it is not to be stored
        expected = warm + sent - sum(run.get("refused", 0) for run in runs)
        persisted = _wait_persisted(db_url, expected)
        peak, peak_process = rss.peak, rss.peak_process

    result = {
        "mode": mode,
        "database": make_url(db_url).get_backend_name(),
        "senders": senders,
        **({"texts": texts, "seed": seed if texts == "realistic" else None} if rate_list else {}),
        **runs[0],
        "runs": runs,
        "workers": workers,
        "peak_rss_mb": round(peak / 2**20, 1),
        "peak_process_rss_mb": round(peak_process / 2**20, 1),
        "persisted": persisted,
        "expected_persisted": expected,
        "all_persisted": persisted == expected,
        "driver": driver,
        **ceil,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "date": datetime.now(timezone.utc).isoformat(timespec="minutes"),
    }
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False))
    else:
        for run in runs:
            click.echo(
                f"{mode} loop on {result['database']}"
                + (f" at {run['rate']:g}/s" if run["rate"] else "")
                + f": {run['messages_per_s']} messages/s, p50 {run['p50_ms']} ms, p95 {run['p95_ms']} ms, "
                f"p99 {run['p99_ms']} ms, max {run['max_ms']} ms; sent {run['messages_sent']}, "
                f"answered 200 {run['messages_ok']}, errors {run['errors']} (503 {run['refused']}"
                + (f"; the 200s: p99 {run['ok_p99_ms']} ms, max {run['ok_max_ms']} ms" if run.get("refused") else "")
                + "); "
                f"server CPU {run['server_cpu_ms_per_message']} ms per message"
                + (f", database {run['database_cpu_ms_per_message']} ms" if run.get("database_cpu_ms_per_message")
                   is not None else "")
                + (f", generator {run['generator_cpu_ms_per_message']} ms ({run['generator_cpu_share']:.0%} of a core)"
                   f"; load average {run['load_average_before']} → {run['load_average_after']}"
                   if "generator_cpu_ms_per_message" in run else "")
            )
        click.echo(
            f"peak RSS {result['peak_rss_mb']} MB"
            + (f" ({workers} workers, largest {result['peak_process_rss_mb']} MB)" if workers > 1 else "")
            + f"; persisted {persisted}/{expected} inbound (incl. {warm} warm-up)"
            + (f"\nload generator ceiling ({driver} vs a trivial server): {ceil['driver_ceiling_per_s']} req/s, "
               f"p99 {ceil['driver_ceiling_p99_ms']} ms" if ceil else "")
        )
    if not result["all_persisted"]:
        raise SystemExit(1)


@bench_group.command("replay")
@click.option("--db", "seeded", required=True,
              help="a seeded SQLite file or PostgreSQL URL, replayed on a copy (created, migrated and seeded with "
                   "the demo when missing)")
@click.option("--messages", default=600, show_default=True, help="measured messages")
@click.option("--warm", default=80, show_default=True, help="messages before the measured ones")
@click.option("--local-time", "local_time", default="2026-12-08 10:00", show_default=True,
              help="the fixed clock's start, in XIANGZHU_TIMEZONE (a Tuesday: staff on duty; 21:00: out of hours)")
@click.option("--senders", default=500, show_default=True)
@click.option("--seed", default=1, show_default=True, help="seed of the realistic workload")
@click.option("--callgrind", is_flag=True,
              help="count instructions of the measured messages only (run under valgrind --tool=callgrind "
                   "--instr-atstart=no --collect-atstart=no)")
def bench_replay(seeded: str, messages: int, warm: int, local_time: str, senders: int, seed: int,
                 callgrind: bool) -> None:
    """The realistic mix in process at a fixed clock: hashes of the replies and rows, CPU per
    message (docs/performance.md). Prints one JSON object."""
    from zoneinfo import ZoneInfo

    from bot.bench.replay import replay

    if messages < 1 or warm < 0:
        raise click.UsageError("--messages must be positive and --warm not negative")
    start = datetime.fromisoformat(local_time).replace(tzinfo=ZoneInfo(get_settings().timezone))
    if seeded.startswith("postgresql"):
        if not database_exists(seeded):
            fresh_database(seeded)
            migrate_and_seed(seeded, {**os.environ, "XIANGZHU_DATABASE_URL": seeded})
    else:
        seeded = Path(seeded)
        if not seeded.exists():
            url = f"sqlite+aiosqlite:///{seeded.resolve()}"
            fresh_database(url)
            migrate_and_seed(url, {**os.environ, "XIANGZHU_DATABASE_URL": url})
    result = replay(seeded, start=start, messages=messages, warm=warm, senders=senders, seed=seed,
                    callgrind=callgrind)
    click.echo(json.dumps({**result.as_dict(), "start": start.isoformat(), "warm": warm, "senders": senders,
                           "seed": seed}, ensure_ascii=False))
