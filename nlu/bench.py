"""``xiangzhu bench nlu``: parses per second and parse latency on one core, training time,
model size on disk, resident memory. Registered into the ``bench`` group by bot/bench/cli.py."""
from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import click

__all__ = ["bench_nlu", "run_benchmark"]


def _pin_one_core() -> str:
    try:
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def run_benchmark(rounds: int = 5) -> dict:
    import psutil

    from nlu.parser import NLU
    from nlu.training_data import TEST_DIR, load_training_data

    pinned = _pin_one_core()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        nlu = NLU.load(Path(tmp), retrain=True)
        load_seconds = time.perf_counter() - started
        model_bytes = nlu.trained.path.stat().st_size if nlu.trained.path else 0
    texts = [ex.text for ex in load_training_data(TEST_DIR).examples]
    for text in texts:  # warm-up
        nlu.parse(text)
    latencies = []
    begin = time.perf_counter()
    for _ in range(rounds):
        for text in texts:
            t0 = time.perf_counter_ns()
            nlu.parse(text)
            latencies.append((time.perf_counter_ns() - t0) / 1e6)
    elapsed = time.perf_counter() - begin
    latencies.sort()
    return {
        "parses": len(latencies),
        "parses_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 3),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
        "max_ms": round(latencies[-1], 3),
        "train_seconds": round(nlu.trained.train_seconds, 2),
        "load_seconds": round(load_seconds, 2),
        "model_bytes": model_bytes,
        "rss_mb": round(psutil.Process().memory_info().rss / 2**20, 1),
        "core": pinned,
    }


@click.command("nlu")
@click.option("--json", "as_json", is_flag=True)
@click.option("--rounds", default=5, show_default=True, help="passes over the test split")
def bench_nlu(as_json: bool, rounds: int) -> None:
    """Benchmark the built-in NLU on one core."""
    result = run_benchmark(rounds)
    if as_json:
        click.echo(json.dumps(result))
        return
    for key, value in result.items():
        click.echo(f"{key:<18} {value}")
