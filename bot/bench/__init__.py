"""`xiangzhu bench`: measured figures for README "Performance" (docs/performance.md).

`xiangzhu bench pipeline --db URL` wipes and migrates (and seeds) the database at URL, starts
`xiangzhu serve` as a subprocess on a free port, and drives the REST channel over real HTTP:

* closed loop (default): `wrk` with one connection per sender; each sender sends its next
  message when the reply to its last one arrives (bot/bench/wrk.lua). Throughput and wrk's
  own latency distribution.
* open loop (`--rate R`): messages arrive at a steady R per second whatever the server does;
  latency is measured from each message's scheduled send time (no coordinated omission).
  The driver is an asyncio raw-socket HTTP/1.1 client (wrk2 is not in Debian).

The load generator must not be the bottleneck, so before the run each driver is pointed at a
trivial HTTP server (a subprocess that answers `[]`) and its ceiling is reported beside the
figures. The server's peak RSS (with any children) is sampled every 50 ms. After the run the
inbound rows in the database are counted: every message sent must be persisted.

The load generators live in this package of their own; nothing of the server imports it.

    cli.py        the `bench` group and `bench pipeline`
    server.py     the server under test: a fresh database, `xiangzhu serve`, its RSS and CPU
    wrk.py        closed loop: wrk driven by wrk.lua
    open_loop.py  open loop: the asyncio raw-socket driver
    ceiling.py    the trivial server each driver is measured against first
    replay.py     `bench replay`: the realistic mix in process at a fixed clock (hashes, CPU,
                  a callgrind window), for A/B comparisons on a loaded machine
"""
