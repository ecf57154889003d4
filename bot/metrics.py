"""Process metrics in the Prometheus text exposition format (version 0.0.4).

Counters and a latency histogram live in memory; gauges that come from the database (outbox
backlog, timers due) are read when `/metrics` is scraped and passed to `render`.
"""
from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _labels(pairs: dict[str, str]) -> str:
    if not pairs:
        return ""
    esc = lambda v: str(v).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")  # noqa: E731
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in sorted(pairs.items())) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages_in: dict[str, int] = defaultdict(int)
        self.messages_out: dict[str, int] = defaultdict(int)
        self.send_failures: dict[str, int] = defaultdict(int)
        self.handler_errors = 0
        self.duplicates = 0
        self.refusals: dict[str, int] = defaultdict(int)
        self._bucket_counts = [0] * len(BUCKETS)
        self._latency_sum = 0.0
        self._latency_count = 0

    def inbound(self, channel: str) -> None:
        with self._lock:
            self.messages_in[channel] += 1

    def outbound(self, channel: str, n: int = 1) -> None:
        with self._lock:
            self.messages_out[channel] += n

    def send_failed(self, channel: str) -> None:
        with self._lock:
            self.send_failures[channel] += 1

    def handler_error(self) -> None:
        with self._lock:
            self.handler_errors += 1

    def duplicate(self) -> None:
        with self._lock:
            self.duplicates += 1

    def refused(self, channel: str) -> None:
        with self._lock:
            self.refusals[channel] += 1

    def observe_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency_sum += seconds
            self._latency_count += 1
            for i, bound in enumerate(BUCKETS):
                if seconds <= bound:
                    self._bucket_counts[i] += 1

    def render(self, *, outbox_backlog: dict[str, int] | None = None, timers_due: int | None = None) -> str:
        out: list[str] = []

        def family(name, kind, help_, samples):
            out.append(f"# HELP {name} {help_}")
            out.append(f"# TYPE {name} {kind}")
            for labels, value in samples:
                out.append(f"{name}{_labels(labels)} {value}")

        with self._lock:
            family("xiangzhu_messages_in_total", "counter", "Inbound messages handled, by channel.",
                   [({"channel": c}, n) for c, n in sorted(self.messages_in.items())])
            family("xiangzhu_messages_out_total", "counter", "Outbound messages delivered, by channel.",
                   [({"channel": c}, n) for c, n in sorted(self.messages_out.items())])
            family("xiangzhu_send_failures_total", "counter", "Outbound sends given up, by channel.",
                   [({"channel": c}, n) for c, n in sorted(self.send_failures.items())])
            family("xiangzhu_handler_errors_total", "counter", "Messages answered with an apology after an error.",
                   [({}, self.handler_errors)])
            family("xiangzhu_duplicate_deliveries_total", "counter", "Repeated deliveries answered from storage.",
                   [({}, self.duplicates)])
            family("xiangzhu_refused_total", "counter",
                   "Messages refused with 503 (not stored) because the turns queued were too far behind, by channel.",
                   [({"channel": c}, n) for c, n in sorted(self.refusals.items())])
            name = "xiangzhu_handling_seconds"
            out.append(f"# HELP {name} Time to handle one inbound message, from arrival to commit.")
            out.append(f"# TYPE {name} histogram")
            for bound, n in zip(BUCKETS, self._bucket_counts):
                out.append(f'{name}_bucket{{le="{bound}"}} {n}')
            out.append(f'{name}_bucket{{le="+Inf"}} {self._latency_count}')
            out.append(f"{name}_sum {self._latency_sum}")
            out.append(f"{name}_count {self._latency_count}")
        if outbox_backlog is not None:
            family("xiangzhu_outbox_backlog", "gauge", "Outbox rows not yet sent, by channel.",
                   [({"channel": c}, n) for c, n in sorted(outbox_backlog.items())] or [({"channel": "all"}, 0)])
        if timers_due is not None:
            family("xiangzhu_timers_due", "gauge", "Timers due now and not yet run.", [({}, timers_due)])
        return "\n".join(out) + "\n"
