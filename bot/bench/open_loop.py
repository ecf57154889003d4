"""Open loop: messages at a steady rate whatever the server does, latency counted from each
message's scheduled send time (no coordinated omission). An asyncio raw-socket HTTP/1.1
client: wrk2 is not in Debian."""
from __future__ import annotations

import asyncio
import json
import re
import socket
from dataclasses import dataclass, field

from bot.bench.wrk import WEBHOOK


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
    refused: int = 0  # of the errors, 503s: not taken by the server (not stored), to be sent again
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    ok_latencies_ms: list[float] = field(default_factory=list)  # the messages answered 200 only

    def percentile(self, p: float, of: list[float] | None = None) -> float:
        of = self.latencies_ms if of is None else of
        if not of:
            return 0.0
        ordered = sorted(of)
        return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]

    def summary(self) -> dict:
        return {
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "refused": self.refused,
            "seconds": self.seconds,
            "messages_per_s": self.ok / self.seconds if self.seconds else 0.0,
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "p99_ms": self.percentile(99),
            "max_ms": max(self.latencies_ms, default=0.0),
            "ok_p99_ms": self.percentile(99, self.ok_latencies_ms),
            "ok_max_ms": max(self.ok_latencies_ms, default=0.0),
        }


def _request_bytes(port: int, path: str, body: bytes, token: str) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{auth}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def open_loop(port: int, rate: float, plan: list[tuple[int, str]], run_id: str, token: str = "",
                    first: int = 0) -> OpenLoopResult:
    """Send the messages of `plan` [(sender number, text)] at a steady `rate`/s; latency of
    each is counted from its scheduled time, so a stalled server or driver shows up in it.
    Message ids are numbered from `first` (a later run to the same senders continues them)."""
    loop = asyncio.get_running_loop()
    idle: list[_Connection] = []
    result = OpenLoopResult()
    pending: set[asyncio.Task] = set()
    bodies = [
        json.dumps({"sender": f"{run_id}-o-{sender}", "message": text, "metadata": {"message_id": f"{run_id}-o-m{first + i}"}},
                   ensure_ascii=False).encode()
        for i, (sender, text) in enumerate(plan)
    ]

    async def one(i: int, scheduled: float) -> None:
        body = bodies[i]
        conn = None
        try:
            conn = idle.pop() if idle else await _Connection.open(port)
            status, _ = await conn.exchange(_request_bytes(port, WEBHOOK, body, token))
            latency = (loop.time() - scheduled) * 1000
            result.latencies_ms.append(latency)
            if status == 200:
                result.ok += 1
                result.ok_latencies_ms.append(latency)
            else:
                result.errors += 1
                result.refused += status == 503
            idle.append(conn)
        except (OSError, ValueError, asyncio.IncompleteReadError):
            result.errors += 1
            if conn is not None:
                conn.close()

    start = loop.time() + 0.05
    for i in range(len(bodies)):
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
