"""The drivers' ceiling: each driver pointed at a trivial HTTP server that answers `[]`, so the
figures show the load generator is not the bottleneck.

    python -I bot/bench/trivial_server.py PORT     # the trivial server alone
"""
from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import click

from bot.bench.open_loop import open_loop
from bot.bench.server import free_port
from bot.bench.workload import Workload
from bot.bench.wrk import run_wrk

TRIVIAL_SERVER = Path(__file__).with_name("trivial_server.py")
START_TIMEOUT = 120  # seconds; it starts in well under one, but a loaded machine may starve it


@contextmanager
def trivial_server(start_timeout: float = START_TIMEOUT) -> Iterator[int]:
    """A subprocess that answers every HTTP/1.1 request with `[]` — the drivers' ceiling.
    Run as a file with the standard library only (no package imports), and waited for until
    it listens or exits."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-I", str(TRIVIAL_SERVER), str(port)])
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None:
                    raise click.ClickException(f"the trivial server exited with code {proc.returncode}")
                if time.monotonic() > deadline:
                    raise click.ClickException(f"the trivial server did not listen within {start_timeout:g} s")
                time.sleep(0.05)
        yield port
    finally:
        proc.kill()
        proc.wait(5)


def driver_ceilings(senders: int, messages: int, rate: float | None) -> dict:
    """Each driver against the trivial server: how far past the target it can go."""
    with trivial_server() as port:
        if rate is None:
            r = run_wrk(port, senders, max(messages, 20000), f"ceil{uuid.uuid4().hex[:4]}")
            return {"driver_ceiling_per_s": round(r["messages_per_s"]), "driver_ceiling_p99_ms": round(r["p99_ms"], 2)}
        probe = max(2000.0, 10 * rate)
        plan = Workload("fixed", senders).plan(int(probe * 3))
        r = asyncio.run(open_loop(port, probe, plan, "ceil")).summary()
        return {
            "driver_ceiling_per_s": round(r["messages_per_s"]),
            "driver_ceiling_p99_ms": round(r["p99_ms"], 2),
            "driver_ceiling_probe_rate": probe,
        }
