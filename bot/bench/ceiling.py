"""The drivers' ceiling: each driver pointed at a trivial HTTP server that answers `[]`, so the
figures show the load generator is not the bottleneck.

    python -m bot.bench.ceiling PORT     # the trivial server alone
"""
from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

import click

from bot.bench.open_loop import open_loop
from bot.bench.server import free_port
from bot.bench.workload import Workload
from bot.bench.wrk import run_wrk


@contextmanager
def trivial_server() -> Iterator[int]:
    """A subprocess that answers every HTTP/1.1 request with `[]` — the drivers' ceiling."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.bench.ceiling", str(port)])
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


async def serve_trivial(port: int) -> None:
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


if __name__ == "__main__":
    asyncio.run(serve_trivial(int(sys.argv[1])))
