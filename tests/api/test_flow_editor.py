"""The flow editor's API on SQLite and PostgreSQL: two admins and 409, check (validator +
translations), completions, diagram, simulator (rolled back), publish, history, diff, rollback,
usage, roles, the audit log, and `xiangzhu flows history|diff|rollback`."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from flows.store import seed_builtin
from storage import flow_store
from storage import staff as staff_service
from storage import staff_access
from storage.models import (
    AuditEntry,
    ChannelIdentity,
    Conversation,
    FlowVersion,
    Handoff,
    Message,
    NeedRequest,
    OutboxMessage,
    Person,
)
from tests.api.conftest import NOW

WATER = """spec_version: 2
id: water_report
title:
  zh: 报告饮水问题
  en: Report a water problem
triggers:
  keywords: [停水]
slots:
  days:
    type: number
    min: 0
    max: 60
steps:
  - id: ask_days
    ask:
      slot: days
      question: {zh: 停水几天了？, en: How many days without water?}
  - id: check
    branch:
      - if: days >= 3
        goto: to_worker
      - else: thanks
  - id: thanks
    say: {zh: "谢谢，停水{{days}}天，已记下。", en: "Thanks, {{days}} days noted."}
  - end: true
  - id: to_worker
    handoff:
      priority: urgent
      summary: {zh: "停水{{days}}天", en: "No water for {{days}} days"}
  - say: {zh: 已为您转接社工。, en: A social worker will answer you soon.}
"""


async def _publish_water(world, text: str = WATER) -> None:
    async with world.client("admin") as c:
        r = await c.put("/api/flows/water_report", json={"yaml": text})
        assert r.status_code == 200, r.text
        assert (await c.post("/api/flows/water_report/publish")).status_code == 200


async def _second_admin(world) -> None:
    async with world.db.session() as s:
        await staff_service.create_user(s, "admin2", roles=["admin"], display_name="李管理")
        _, world.tokens["admin2"] = await staff_access.create_token(s, "admin2-token", username="admin2")


async def test_a_save_over_another_admins_newer_draft_is_refused_with_their_name_and_a_diff(world):
    await _publish_water(world)
    await _second_admin(world)
    async with world.client("admin2") as c:
        r = await c.put("/api/flows/water_report", json={"yaml": WATER.replace("已记下", "记好了"), "base_version": 1})
        assert r.status_code == 200 and r.json()["version"] == 2
        assert r.json()["draft"] is True and r.json()["draft_by"]["username"] == "admin2"
    async with world.client("admin") as c:
        mine = WATER.replace("停水几天了？", "停水多少天了？")
        r = await c.put("/api/flows/water_report", json={"yaml": mine, "base_version": 1})
        assert r.status_code == 409, r.text
        body = r.json()
        assert "李管理" in body["error"] and body["by"]["username"] == "admin2" and body["version"] == 2
        assert '-    say: {zh: "谢谢，停水{{days}}天，记好了。"' in body["diff"]
        assert "+      question: {zh: 停水多少天了？" in body["diff"]
        # based on the newest version, or without base_version (as before), it saves
        assert (await c.put("/api/flows/water_report", json={"yaml": mine, "base_version": 2})).json()["version"] == 3
        assert (await c.put("/api/flows/water_report", json={"yaml": WATER})).json()["version"] == 4
        # my own newer saves (another tab) are no conflict
        assert (await c.put("/api/flows/water_report", json={"yaml": mine, "base_version": 3})).status_code == 200
    async with world.db.session() as s:
        n = (await s.execute(select(func.count()).select_from(FlowVersion)
                             .where(FlowVersion.flow_id == "water_report"))).scalar_one()
        assert n == 5


async def test_check_gives_validator_lines_with_did_you_mean_and_the_translations_check(world):
    async with world.client("admin") as c:
        broken = WATER.replace("goto: to_worker", "goto: to_workr")
        r = await c.post("/api/flows/water_report/check", json={"yaml": broken})
        assert r.status_code == 200
        body = r.json()
        assert body["ok"] is False
        [p] = [p for p in body["problems"] if "to_workr" in p["message"]]
        assert p["line"] == broken.splitlines().index("        goto: to_workr") + 1 and p["column"] == 15
        assert "did you mean 'to_worker'" in p["message"]

        assert (await c.post("/api/flows/water_report/check", json={"yaml": WATER})).json() == {
            "ok": True, "problems": [], "errors": 0, "warnings": 0}

        no_en = WATER.replace(", en: A social worker will answer you soon.", "")
        problems = (await c.post("/api/flows/water_report/check", json={"yaml": no_en})).json()["problems"]
        line = no_en.splitlines().index("  - say: {zh: 已为您转接社工。}") + 1
        assert any(p["source"] == "translations" and p["line"] == line and "English" in p["message"]
                   for p in problems), problems

        long_zh = WATER.replace("谢谢，停水{{days}}天，已记下。", "很" * 301)
        body = (await c.post("/api/flows/water_report/check", json={"yaml": long_zh})).json()
        assert body["ok"] is True and body["warnings"] == 1 and "phone screen" in body["problems"][0]["message"]

        wechat = WATER.replace("谢谢，停水{{days}}天，已记下。", "很" * 700)  # 2,100 bytes, 700 characters
        body = (await c.post("/api/flows/water_report/check", json={"yaml": wechat})).json()
        assert body["ok"] is False and "WeChat" in body["problems"][0]["message"]

        telegram = WATER.replace('"Thanks, {{days}} days noted."', "a" * 4100)
        body = (await c.post("/api/flows/water_report/check", json={"yaml": telegram})).json()
        assert any(p["severity"] == "error" and "WeChat" in p["message"] for p in body["problems"])  # bytes first
    async with world.client("viewer") as c:
        assert (await c.post("/api/flows/water_report/check", json={"yaml": WATER})).status_code == 403


async def test_check_speaks_chinese_on_the_chinese_page_with_the_same_lines(world):
    breakages = [
        ("goto: to_worker", "goto: to_workr", "跳转到的 'to_workr' 不存在——是不是想写 'to_worker'？"),
        ("  - id: thanks\n    say:", "  - id: thanks\n    sya:", "未知的键 'sya'——是不是想写 'say'？"),
        (", en: A social worker will answer you soon.", "", "缺少英文 (en) 文字"),
        ("已记下。", "已记下{{dayz}}。", "但没有信息项 'dayz'"),
        ("    max: 60", "    max: sixty", "应该是"),
        ("- id: check", "- id: ask_days", "有两个步骤都叫 'ask_days'"),
        ("- if: days >= 3", "- if: dais >= 3", "不是信息项——是不是想写 'days'？"),
        ("      slot: days\n", "      slot: dayz\n", "没有在 'slots' 里声明"),
        ("谢谢，停水{{days}}天，已记下。", "很" * 301, "超过一屏手机"),
        ("谢谢，停水{{days}}天，已记下。", "很" * 700, "微信最多发送 2048 字节"),
    ]
    async with world.client("admin") as c:
        for old, new, expected in breakages:
            assert old in WATER
            text = WATER.replace(old, new, 1)
            en = (await c.post("/api/flows/water_report/check", json={"yaml": text})).json()["problems"]
            zh = (await c.post("/api/flows/water_report/check?lang=zh", json={"yaml": text})).json()["problems"]
            assert [(p["line"], p["column"]) for p in zh] == [(p["line"], p["column"]) for p in en] and zh
            assert [p["message_en"] for p in zh] == [p["message"] for p in en]
            assert any(expected in p["message"] for p in zh), (expected, zh)
            for p in zh:  # every message is translated, none is left in English
                assert p["message"] != p["message_en"] and re.search(r"[\u4e00-\u9fff]", p["message"]), p


async def test_the_list_and_history_pages_show_times_in_the_configured_zone(world):
    from zoneinfo import ZoneInfo

    from tests.api.helpers import sign_in

    await _publish_water(world)
    async with world.db.session() as s:
        published = (await s.execute(select(FlowVersion.published_at)
                                     .where(FlowVersion.flow_id == "water_report"))).scalar_one()
    if published.tzinfo is None:
        published = published.replace(tzinfo=timezone.utc)
    settings = world.app.state.services.settings
    async with world.client() as c:
        assert (await sign_in(c, "w1")).status_code == 303
        for zone in ("Asia/Shanghai", "Asia/Urumqi"):  # the default, then a configured one
            settings.timezone = zone
            page = (await c.get("/flows")).text
            card = page[page.index('data-flow="water_report"'):]
            card = card[:card.index("</li>")]
            local = published.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")
            assert f"<time>{local}</time>" in card, card
            assert published.astimezone(timezone.utc).strftime("%H:%M") not in card  # not UTC
            history = (await c.get("/flows/water_report/history")).text
            assert f'"zone": "{zone}"' in history  # history.js formats the API's UTC times in it


def test_the_simulator_uses_only_the_engines_public_api():
    """Dispatcher.understand/run_turn and FlowRuntime(observer=RunObserver): no private name of
    the dispatcher or the flow engine (they may change without notice)."""
    import ast

    import bot.flow_simulator as simulator

    tree = ast.parse(Path(simulator.__file__).read_text(encoding="utf-8"))
    private = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("flows.runtime", "bot.dispatcher"):
            private |= {a.name for a in node.names if a.name.startswith("_")}
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call) and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            private.add(node.attr)  # Dispatcher(...)._something
        if isinstance(node, ast.Attribute) and node.attr in ("_turn", "_understand", "_do", "_ask", "_clear_flow", "_load") \
                and not (isinstance(node.value, ast.Name) and node.value.id == "self"):
            private.add(node.attr)
    assert private == set(), private
    assert issubclass(simulator._Trace, __import__("flows.runtime", fromlist=["RunObserver"]).RunObserver)


async def test_completions_and_diagram_come_from_the_text_being_edited(world):
    async with world.db.session() as s:
        await seed_builtin(s)
    async with world.client("sup") as c:
        half = WATER + "  - goto: \n"  # being typed: not valid yet, still completes
        body = (await c.post("/api/flows/water_report/completions", json={"yaml": half})).json()
        assert body["steps"] == ["ask_days", "check", "thanks", "to_worker"] and body["slots"] == ["days"]
        assert any(a["name"] == "open_handoff" and "summary" in a["args"] for a in body["actions"])
        assert "need_request" in body["flows"] and "choice" in body["slot_types"]
        d = (await c.post("/api/flows/water_report/diagram", json={"yaml": WATER})).json()
        lines = WATER.splitlines()
        by_step = {n["step"]: (k, n["line"]) for k, n in d["nodes"].items()}
        assert by_step["check"][1] == lines.index("  - id: check") + 1
        assert by_step["to_worker"][1] == lines.index("  - id: to_worker") + 1
        check, worker, thanks = by_step["check"][0], by_step["to_worker"][0], by_step["thanks"][0]
        assert f"  {check} -->|days #gt;= 3| {worker}" in d["mermaid"]
        assert f"  {check} -->|否则 else| {thanks}" in d["mermaid"]


async def _counts(world) -> dict:
    async with world.db.session() as s:
        out = {}
        for model in (FlowVersion, Handoff, NeedRequest, OutboxMessage, Message, Person, Conversation, AuditEntry):
            out[model.__tablename__] = (await s.execute(select(func.count()).select_from(model))).scalar_one()
        return out


async def test_the_simulator_runs_the_draft_and_leaves_nothing_behind(world):
    async with world.db.session() as s:
        await seed_builtin(s)
    await _publish_water(world)
    before = await _counts(world)
    draft = WATER.replace("停水几天了？", "停水几天啦？")  # never saved: the simulator runs this text
    async with world.client("sup") as c:
        persona = {"village": "v1", "locale": "zh", "consented": True}
        r = await c.post("/api/flows/water_report/simulate", json={"yaml": draft, "start": True, "persona": persona})
        assert r.status_code == 200, r.text
        first = r.json()
        assert [x["text"] for x in first["replies"]] == ["停水几天啦？"]
        assert first["step"] == "ask_days" and first["state"]["flow_version_id"] == "draft"
        r = await c.post("/api/flows/water_report/simulate", json={
            "yaml": draft, "text": "5", "state": first["state"], "persona": persona, "sender": first["sender"]})
        assert r.status_code == 200, r.text
        second = r.json()
        assert second["slots"] == {"days": 5}
        assert second["replies"][-1]["text"] == "已为您转接社工。"
        kinds = [e["kind"] for e in second["events"]]
        assert "handoff" in kinds and "mode" in kinds
        handoff = next(e for e in second["events"] if e["kind"] == "handoff")
        assert handoff["data"]["priority"] == "urgent" and "停水5天" in handoff["data"]["summary"]

        # start at a step with prepared slots; a persona with an open case and no consent, in English
        r = await c.post("/api/flows/water_report/simulate", json={
            "yaml": draft, "start": True, "step": "check", "slots": {"days": 1},
            "persona": {"village": "v1", "locale": "en", "consented": False, "open_case": True}})
        body = r.json()
        assert [x["text"] for x in body["replies"]] == ["Thanks, 1 days noted."] and body["flow"] is None
        # how each channel would show a question with choices
        menu = await c.post("/api/flows/water_report/simulate", json={"yaml": draft, "text": "菜单", "persona": persona})
        shown = [x for x in menu.json()["replies"] if x["buttons"]]
        assert shown, menu.json()
        assert shown[0]["telegram"]["buttons"] == [b["title"] for b in shown[0]["buttons"]]
        assert "回复数字：" in shown[0]["wechat"]["text"] and "\n1. " in shown[0]["wechat"]["text"]

        broken = await c.post("/api/flows/water_report/simulate", json={"yaml": draft.replace("goto: to_worker", "goto: x"),
                                                                        "start": True})
        assert broken.status_code == 422 and "water_report.yaml:" in broken.json()["errors"][0]
    assert await _counts(world) == before  # nothing stored, nobody messaged
    async with world.client("w1") as c:
        assert (await c.post("/api/flows/water_report/simulate", json={"yaml": draft, "start": True})).status_code == 403


async def test_publish_history_diff_rollback_and_the_audit_log(world):
    await _publish_water(world)
    new_text = WATER.replace("停水几天了？", "停水多少天了？")
    async with world.client("sup") as c:
        assert (await c.put("/api/flows/water_report", json={"yaml": new_text})).status_code == 403
        assert (await c.post("/api/flows/water_report/publish")).status_code == 403
        assert (await c.post("/api/flows/water_report/rollback", json={"version": 1})).status_code == 403
    async with world.client("admin") as c:
        assert (await c.put("/api/flows/water_report", json={"yaml": new_text})).json()["version"] == 2
        listed = {f["id"]: f for f in (await c.get("/api/flows")).json()["flows"]}["water_report"]
        assert listed["published_version"] == 1 and listed["draft"] is True
        assert listed["draft_by"]["username"] == "admin" and listed["title"]["zh"] == "报告饮水问题"
        assert listed["triggers"] == {"keywords": ["停水"]} and listed["last_published_at"]
        r = await c.post("/api/flows/water_report/publish")
        assert r.json()["published_version"] == 2 and r.json()["draft"] is False
        diff = (await c.get("/api/flows/water_report/diff", params={"a": 1, "b": 2})).json()["diff"]
        assert "-      question: {zh: 停水几天了？" in diff and "+      question: {zh: 停水多少天了？" in diff
        assert (await c.get("/api/flows/water_report/diff", params={"a": 1, "b": 9})).status_code == 404
        r = await c.post("/api/flows/water_report/rollback", json={"version": 1})
        assert r.status_code == 200 and r.json()["published_version"] == 3 and "停水几天了？" in r.json()["yaml"]
        assert (await c.post("/api/flows/water_report/rollback", json={"version": 9})).status_code == 404
        history = (await c.get("/api/flows/water_report/history")).json()
        assert [v["version"] for v in history["versions"]] == [3, 2, 1]
        assert history["versions"][0]["current"] and history["versions"][0]["by"]["username"] == "admin"
        assert [(e["action"], e["version"]) for e in history["events"]] == [("rollback", 1), ("publish", 2),
                                                                             ("publish", 1)]
    async with world.client("w1") as c:
        assert (await c.get("/api/flows/water_report/history")).status_code == 200  # workers read
    async with world.db.session() as s:
        actions = [(a.action, a.data.get("version")) for a in (await s.execute(
            select(AuditEntry).where(AuditEntry.target == "flow:water_report").order_by(AuditEntry.id))).scalars()]
        assert ("flow.rollback", 1) in actions and ("flow.publish", 2) in actions
        assert (await flow_store.current_version(s, "water_report")).version == 3


async def test_usage_counts_who_reached_a_step_and_who_stopped_there_from_stored_steps(world):
    """Three villagers talk to the real flow engine over the REST channel; each bot reply is
    stored with its step, and the usage view counts from those rows."""
    from flows.runtime import FlowRuntime

    await _publish_water(world)
    world.app.state.services.handler = FlowRuntime()  # the real engine instead of the stand-in

    async def say(client, sender: str, text: str) -> list[str]:
        r = await client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
        assert r.status_code == 200, r.text
        return [m.get("text", "") for m in r.json()]

    async with world.client() as rest:
        for who in ("a", "b", "c"):
            assert any("停水几天了" in t for t in await say(rest, who, "停水"))
        assert any("停水2天，已记下" in t for t in await say(rest, "a", "2"))  # thanks, the flow ends
        assert any("转接社工" in t for t in await say(rest, "b", "5"))  # to_worker: a handoff
        # c never answers
    async with world.db.session() as s:
        stored = (await s.execute(select(Message.flow_step, Message.text).where(Message.direction == "out")
                                  .order_by(Message.id))).all()
    assert ("water_report:ask_days", "停水几天了？") in [(f, t.strip()) for f, t in stored]
    assert any(f == "water_report:thanks" and "已记下" in t for f, t in stored)

    world.clock.advance(hours=2)  # c has been silent for longer than IDLE
    async with world.client("admin") as c:
        usage = (await c.get("/api/flows/water_report/usage")).json()
    steps = {x["step"]: x for x in usage["steps"]}
    assert steps["ask_days"]["reached"] == 3 and steps["ask_days"]["stopped"] == 1
    assert steps["ask_days"]["drop_off"] == round(1 / 3, 3)
    assert steps["thanks"]["reached"] == 1 and steps["thanks"]["stopped"] == 0
    assert steps["check"]["reached"] is None  # a branch says nothing


def _xiangzhu(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "XIANGZHU_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env,
                          timeout=120)


async def test_cli_history_diff_rollback(world, db_url):
    await _publish_water(world)
    async with world.client("admin") as c:
        assert (await c.put("/api/flows/water_report",
                            json={"yaml": WATER.replace("停水几天了？", "停水多少天了？")})).status_code == 200
    r = _xiangzhu(db_url, "flows", "history", "water_report")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any(line.startswith("v2") and "admin" in line for line in lines), r.stdout
    assert any(line.startswith("v1") and "已发布" in line for line in lines), r.stdout
    r = _xiangzhu(db_url, "flows", "diff", "water_report", "1", "2")
    assert r.returncode == 0 and "+      question: {zh: 停水多少天了？" in r.stdout, r.stderr
    r = _xiangzhu(db_url, "flows", "rollback", "water_report", "1", "--by", "cli-test")
    assert r.returncode == 0, r.stderr
    assert "v3" in r.stdout
    async with world.db.session() as s:
        current = await flow_store.current_version(s, "water_report")
        audit = (await s.execute(select(AuditEntry).where(AuditEntry.action == "flow.rollback"))).scalar_one()
    assert current.version == 3 and "停水几天了？" in current.yaml and audit.actor == "cli-test"
    r = _xiangzhu(db_url, "flows", "rollback", "water_report", "9")
    assert r.returncode == 1 and "9" in r.stderr


async def test_pages_need_sign_in_and_offer_editing_to_admins_only(world):
    from tests.api.helpers import sign_in

    await _publish_water(world)
    async with world.client() as c:
        r = await c.get("/flows")
        assert r.status_code == 303 and r.headers["location"].startswith("/signin")
        assert (await c.get("/flows/diagram-frame")).status_code == 303
        assert (await sign_in(c, "w1")).status_code == 303
        listed = await c.get("/flows")
        assert listed.status_code == 200 and 'data-flow="water_report"' in listed.text and "报告饮水问题" in listed.text
        page = await c.get("/flows/water_report")
        assert page.status_code == 200
        # the staff web's strict policy, and no inline script: only external scripts and JSON data blocks
        from bot.web.rendering import CSP

        assert page.headers["content-security-policy"] == CSP and "'unsafe-inline'" not in CSP
        assert "importmap" not in page.text and " style=" not in page.text
        for tag in re.findall(r"<script[^>]*>", page.text):
            assert " src=" in tag or 'type="application/json"' in tag, tag
        assert 'src="/flows/assets/dist/editor.js"' in page.text  # the bundle, served by the app
        assert (await c.get("/flows/assets/dist/editor.js")).status_code == 200
        frame = await c.get("/flows/diagram-frame")  # where Mermaid lays out: inline styles, our scripts only
        assert frame.status_code == 200 and "frame-ancestors 'self'" in frame.headers["content-security-policy"]
        assert "script-src 'self';" in frame.headers["content-security-policy"]
        assert 'id="save"' not in page.text and 'data-tab="sim"' not in page.text  # a worker reads only
        assert (await c.get("/flows/assets/src/editor.js")).status_code == 200
        assert (await c.get("/flows/assets/npm/@codemirror/view/package.json")).status_code == 200
        assert (await c.get("/flows/nowhere")).status_code == 404
        history = await c.get("/flows/water_report/history?lang=en")
        assert history.status_code == 200 and "Versions" in history.text
        assert history.headers["content-security-policy"] == CSP
        assert listed.headers["content-security-policy"] == CSP
