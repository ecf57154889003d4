"""A publish reaches every server process on its next message, without a restart: two
`xiangzhu serve` processes on one PostgreSQL database (a copy of the session's migrated
template), the flow published with the CLI."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.bot.test_process_pipeline import Server

XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))
pytestmark = [pytest.mark.slow, pytest.mark.postgres,
              pytest.mark.parametrize("empty_db_url", ["postgres"], indirect=True)]

FLOW = """spec_version: 2
id: weather_note
title: {{zh: 天气提示, en: Weather note}}
triggers:
  keywords: [天气提示]
steps:
  - say: {{zh: "{zh}", en: "{en}"}}
"""


def cli(db_url, *args):
    result = subprocess.run([XIANGZHU, *args], env={**os.environ, "XIANGZHU_DATABASE_URL": db_url},
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def ask(server, sender, n):
    r = httpx.post(server.base + "/webhooks/rest/webhook", timeout=30,
                   json={"sender": sender, "message": "天气提示", "metadata": {"message_id": f"{sender}-{n}"}})
    assert r.status_code == 200, r.text
    return " ".join(m["text"] for m in r.json())


def test_publish_reaches_both_servers_on_the_next_message(db_url, tmp_path):
    cli(db_url, "seed")
    flow = tmp_path / "weather_note.yaml"
    flow.write_text(FLOW.format(zh="版本一：明天有雨。", en="Version one: rain tomorrow."), encoding="utf-8")
    cli(db_url, "flows", "publish", str(flow))
    servers = [Server(db_url, tmp_path, name) for name in ("a", "b")]
    try:
        for s in servers:
            s.wait_ready()
        assert [ask(s, f"v-{i}", 1) for i, s in enumerate(servers)] == ["版本一：明天有雨。"] * 2
        flow.write_text(FLOW.format(zh="版本二：明天晴。", en="Version two: sunny."), encoding="utf-8")
        cli(db_url, "flows", "publish", str(flow))
        assert [ask(s, f"v-{i}", 2) for i, s in enumerate(servers)] == ["版本二：明天晴。"] * 2
    finally:
        for s in servers:
            s.stop()
