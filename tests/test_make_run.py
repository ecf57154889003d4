"""`make run` from a fresh clone: the Makefile builds what it needs, migrates, seeds and serves;
the REST channel answers 你好.

To stay fast the test creates the clone's `.venv` itself (a plain `python3.11 -m venv`) and
lets it see the packages of the running venv through a `.pth` file — the dependencies are
already downloaded, as a pip cache would have them. Everything else is the Makefile's own
work: its `pip install -e .` of the clone, `xiangzhu db upgrade`, `seed --demo`, `serve`.
The clone is of the committed HEAD: uncommitted work is not in it.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import httpx
import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_make_run_from_a_fresh_clone_answers_rest(tmp_path):
    clone = tmp_path / "xiangzhu"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "venv", str(clone / ".venv")], check=True, timeout=120)
    purelib = subprocess.run(
        [str(clone / ".venv/bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    Path(purelib, "_xiangzhu_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XIANGZHU_")}
    log = open(tmp_path / "make-run.log", "w")
    proc = subprocess.Popen(["make", "run", f"PORT={port}"], cwd=clone, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        reply = None
        while reply is None:
            if proc.poll() is not None:
                pytest.fail(f"make run exited with {proc.returncode}:\n{(tmp_path / 'make-run.log').read_text()[-4000:]}")
            assert time.monotonic() < deadline, (tmp_path / "make-run.log").read_text()[-4000:]
            try:
                r = httpx.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                               json={"sender": "make-run", "message": "你好", "metadata": {"message_id": "m1"}},
                               timeout=10)
                if r.status_code == 200:
                    reply = r.json()
            except httpx.HTTPError:
                time.sleep(0.5)  # not up yet
        assert reply and all(item["recipient_id"] == "make-run" for item in reply)
        assert any(item.get("text") for item in reply)
        assert (clone / "data" / "xiangzhu.db").exists()  # the embedded default database
        assert (clone / ".venv" / ".installed").exists()  # the Makefile installed the clone
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        log.close()
