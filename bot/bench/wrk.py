"""Closed loop: wrk, one connection per sender, each sending its next message when the reply
to its last one arrives (wrk.lua beside this file)."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import click

WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
WEBHOOK = "/webhooks/rest/webhook"


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
