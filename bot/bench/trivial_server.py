"""The trivial HTTP server the drivers' ceiling is measured against: answers every HTTP/1.1
request with `[]`. Standard library only, run as a file (`python -I trivial_server.py PORT`),
so it starts in a fraction of a second even on a loaded machine (importing the package,
which pulls in SQLAlchemy and the NLU's data loaders, took over 10 s under load)."""
from __future__ import annotations

import asyncio
import re
import sys

REPLY = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n[]"
_LENGTH = re.compile(rb"(?i)content-length:\s*(\d+)")


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            m = _LENGTH.search(head)
            if m:
                await reader.readexactly(int(m.group(1)))
            writer.write(REPLY)
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(port: int) -> None:
    server = await asyncio.start_server(_handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
