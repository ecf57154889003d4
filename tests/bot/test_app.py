"""The application: /healthz, /metrics, extensions, and `xiangzhu serve` start-up checks."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import EXTENSIONS, create_app
from storage import migrate
from tests.bot.pipeline_helpers import make_services, running

REPO = Path(__file__).resolve().parents[2]
XIANGZHU = str(Path(sys.executable).with_name("xiangzhu"))


def _sample(text: str, name: str, labels: str = "") -> float:
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} (\S+)$", text, re.M)
    assert m, f"{name}{labels} not in metrics:\n{text}"
    return float(m.group(1))


async def test_healthz_reports_database_and_leader(services):
    services.leader_status = lambda: "self"
    async with running(services) as client:
        resp = await client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok", "leader": "self"}


async def test_metrics_count_messages_latency_and_backlog(services):
    async with running(services) as client:
        for i in range(3):
            await client.post("/webhooks/rest/webhook", json={"sender": "m", "message": "你好"})
        await client.post("/webhooks/rest/webhook", json={"sender": "m", "message": "x", "metadata": {"message_id": "d"}})
        await client.post("/webhooks/rest/webhook", json={"sender": "m", "message": "x", "metadata": {"message_id": "d"}})
        from storage import outbox as outbox_store
        async with services.db.session() as s:  # a later message waiting for the client to poll
            await outbox_store.enqueue(s, channel="rest", recipient="m", text="later")
        resp = await client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = resp.text
    assert _sample(text, "xiangzhu_messages_in_total", '{channel="rest"}') == 5
    assert _sample(text, "xiangzhu_messages_out_total", '{channel="rest"}') == 4  # replies in responses
    assert _sample(text, "xiangzhu_duplicate_deliveries_total") == 1
    assert _sample(text, "xiangzhu_handling_seconds_count") == 5
    assert _sample(text, "xiangzhu_handling_seconds_bucket", '{le="+Inf"}') == 5
    assert _sample(text, "xiangzhu_outbox_backlog", '{channel="rest"}') == 1
    assert _sample(text, "xiangzhu_timers_due") == 0


async def test_existing_extensions_are_mounted(db):
    services = make_services(db)
    app = create_app(services=services)
    assert services.extensions == list(EXTENSIONS)
    paths = {getattr(r, "path", "") for r in app.routes}
    assert {"/webhooks/rest/webhook", "/webhooks/rest/outbox", "/healthz", "/metrics"} <= paths


async def test_lifespan_refuses_a_schema_that_is_behind(empty_db_url):
    from bot.config import load_settings

    app = create_app(load_settings(database_url=empty_db_url), extensions=[])
    with pytest.raises(migrate.SchemaBehindError):
        async with app.router.lifespan_context(app):
            pass
    await app.state.services.db.dispose()


@pytest.mark.slow
def test_serve_exits_nonzero_with_the_command_to_run_when_schema_is_behind(tmp_path):
    env = {**os.environ, "XIANGZHU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/new.db"}
    result = subprocess.run([XIANGZHU, "serve", "--port", "1"], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=120)
    assert result.returncode == 2
    assert "xiangzhu db upgrade" in result.stderr
